//! `deja info` and `deja dump`.

use crate::cli::{DumpArgs, InfoArgs};
use crate::exit::Failure;
use crate::replay::open;
use deja_traces::{Record, RecordIndex};
use std::collections::BTreeMap;
use std::io::Write;

fn trace_error(path: &std::path::Path, e: deja_traces::Error) -> Failure {
    Failure::Message {
        message: format!("{}: {e}", path.display()),
        code: 119,
    }
}

/// Arguments longer than this are shown cut, with their length.
const LONG: usize = 80;
/// At most this many items of a list are shown.
const MANY: usize = 16;

/// A creation time as RFC 3339, in UTC and in the local time zone.
fn created(unix_ms: u64) -> String {
    let Ok(ts) = i64::try_from(unix_ms)
        .map_err(|_| ())
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).map_err(|_| ()))
    else {
        return format!("{unix_ms} ms since the epoch (not a valid date)");
    };
    let utc = ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let local = ts.to_zoned(jiff::tz::TimeZone::system());
    if local.offset().seconds() == 0 {
        return utc;
    }
    format!("{utc} ({} local)", local.strftime("%Y-%m-%dT%H:%M:%S%:z"))
}

/// A word as a shell reads it back (quoted when it needs to be), cut when long.
fn shell_word(w: &str) -> String {
    let shown = if w.chars().count() > LONG {
        let cut: String = w.chars().take(LONG - 20).collect();
        format!("{cut}…({} bytes)", w.len())
    } else {
        w.to_string()
    };
    let plain = !shown.is_empty()
        && shown
            .chars()
            .all(|c| c.is_alphanumeric() || "-_./=:,+@%…()".contains(c));
    if plain {
        shown
    } else {
        format!("'{}'", shown.replace('\'', "'\\''"))
    }
}

/// Items joined by spaces, the first [`MANY`] of them, or `(none)`.
fn list(items: impl ExactSizeIterator<Item = String>) -> String {
    let n = items.len();
    if n == 0 {
        return "(none)".into();
    }
    let mut shown: Vec<String> = items.take(MANY).collect();
    if n > MANY {
        shown.push(format!("… and {} more", n - MANY));
    }
    shown.join(" ")
}

/// Runs `deja info`.
pub fn info(args: &InfoArgs) -> Result<(), Failure> {
    let reader = open(&args.trace)?;
    let summary = reader.summary();
    let names: Vec<String> = summary
        .header
        .imports
        .iter()
        .map(|i| format!("{}::{}", i.module, i.name))
        .collect();
    let mut calls: BTreeMap<String, u64> = BTreeMap::new();
    let (mut host_calls, mut events, mut payload) = (0u64, 0u64, 0u64);
    // The last position a record names: where a truncated trace's replay can reach.
    let mut last_position = None;
    // What an `Interrupted` outcome was interrupted by.
    let mut interruption = None;
    let mut bar = crate::progress::Bar::new("reading the trace");
    let count = reader.record_count();
    for (i, record) in reader.records().enumerate() {
        if i % 4096 == 0 {
            bar.update(i as u64, count, format!("record {i} of {count}"));
        }
        match record.map_err(|e| trace_error(&args.trace, e))? {
            Record::HostCall(hc) => {
                host_calls += 1;
                last_position = Some(hc.position.0);
                payload += hc
                    .memory_writes
                    .iter()
                    .map(|w| w.bytes.len() as u64)
                    .sum::<u64>();
                let name = names
                    .get(hc.import.0 as usize)
                    .cloned()
                    .unwrap_or_else(|| format!("import {}", hc.import.0));
                *calls.entry(name).or_default() += 1;
            }
            Record::Event(e) => {
                events += 1;
                last_position = Some(e.position.0);
                if let deja_traces::EventKind::Interrupted(why) = &e.kind {
                    interruption = Some(why.clone());
                }
            }
            Record::Progress(p) => last_position = Some(p.0),
            Record::End(_) => {}
        }
    }
    drop(bar);
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = serde_json::json!({
            "summary": summary,
            "host_calls": host_calls,
            "host_calls_by_import": calls,
            "events": events,
            "memory_write_bytes": payload,
        });
        writeln!(out, "{v}")?;
        return Ok(());
    }
    let h = &summary.header;
    writeln!(
        out,
        "trace:       {} ({} bytes, format {})",
        args.trace.display(),
        summary.file_len,
        summary.format_version
    )?;
    writeln!(
        out,
        "recorded by: {} on {} at {}",
        h.tool_version,
        h.host,
        created(h.created_unix_ms)
    )?;
    writeln!(
        out,
        "module:      {} bytes, sha256 {}",
        h.module.size, h.module.sha256
    )?;
    writeln!(
        out,
        "args:        {}",
        list(h.args.iter().map(|a| shell_word(a)))
    )?;
    writeln!(
        out,
        "env:         {}",
        list(h.env.iter().map(|(k, v)| shell_word(&format!("{k}={v}"))))
    )?;
    writeln!(
        out,
        "dirs:        {}",
        list(h.preopens.iter().map(|d| shell_word(d)))
    )?;
    writeln!(out, "config:      {}", h.runtime_config)?;
    if let Some(chaos) = &h.chaos {
        writeln!(
            out,
            "chaos:       seed {:#x}, strategies {} (again: record --chaos={:#x} --chaos-strategies {})",
            chaos.seed,
            chaos.strategies.join(","),
            chaos.seed,
            chaos.strategies.join(",")
        )?;
    }
    match (&summary.end, &summary.truncation) {
        (Some(end), _) if end.outcome == deja_traces::RunOutcome::Interrupted => writeln!(
            out,
            "outcome:     interrupted at position {}{}",
            end.total_steps.0,
            match interruption {
                Some(deja_traces::Interruption::Signal) => " (by a signal)".to_string(),
                Some(deja_traces::Interruption::StepBudget) => " (the step budget)".to_string(),
                Some(deja_traces::Interruption::Other(why)) => format!(" ({why})"),
                Some(deja_traces::Interruption::Terminated) => " (by SIGTERM)".to_string(),
                None => String::new(),
            }
        )?,
        (Some(end), _) => writeln!(
            out,
            "outcome:     {} after {} steps",
            end.outcome, end.total_steps.0
        )?,
        (None, Some(t)) => writeln!(
            out,
            "outcome:     TRUNCATED: the recorder stopped before finishing; {} records recovered ({} of {} bytes valid); {}",
            t.records_recovered,
            t.valid_len,
            t.file_len,
            match last_position {
                Some(p) => format!("the last recorded position is {p}"),
                None => "no position was recorded".to_string(),
            }
        )?,
        (None, None) => writeln!(out, "outcome:     unknown")?,
    }
    writeln!(
        out,
        "records:     {} in {} chunks",
        summary.record_count, summary.chunk_count
    )?;
    writeln!(out, "host calls:  {host_calls}")?;
    for (name, n) in &calls {
        writeln!(out, "  {n:>10}  {name}")?;
    }
    writeln!(out, "events:      {events}")?;
    let raw = h.module.size + payload;
    let ratio = if summary.file_len > 0 {
        raw as f64 / summary.file_len as f64
    } else {
        0.0
    };
    writeln!(
        out,
        "sizes:       module {} bytes + recorded memory writes {payload} bytes, stored in {} bytes ({ratio:.1}x)",
        h.module.size, summary.file_len
    )?;
    Ok(())
}

/// Runs `deja dump`.
pub fn dump(args: &DumpArgs) -> Result<(), Failure> {
    let reader = open(&args.trace)?;
    let names: Vec<String> = reader
        .header()
        .imports
        .iter()
        .map(|i| format!("{}::{}", i.module, i.name))
        .collect();
    // Names (and, with DWARF, source lines) for backtraces, from the module the trace holds.
    let module = reader
        .module_bytes()
        .ok()
        .and_then(|b| deja_runtime::Module::new(&b).ok());
    let debug = module
        .as_ref()
        .and_then(|m| deja_debuginfo::DebugInfo::new(m.bytes()).ok().flatten());
    let frame_text = |f: &deja_traces::BacktraceFrame| {
        let name = module
            .as_ref()
            .and_then(|m| m.func_name(deja_runtime::FuncIndex::from_u32(f.func.0)))
            .or_else(|| debug.as_ref().and_then(|d| d.function_name(f.pc)));
        let mut s = match name {
            Some(n) => format!("{n} (func {}) at pc {:#x}", f.func.0, f.pc),
            None => f.to_string(),
        };
        if let Some(loc) = debug.as_ref().and_then(|d| d.location(f.pc)) {
            s.push_str(&format!(", {}", loc.short()));
        }
        s
    };
    let records = reader
        .records_from(RecordIndex(args.from))
        .map_err(|e| trace_error(&args.trace, e))?;
    let mut out = std::io::stdout().lock();
    let limit = args.count.unwrap_or(u64::MAX);
    for (i, record) in records.enumerate() {
        if i as u64 >= limit {
            break;
        }
        let record = record.map_err(|e| trace_error(&args.trace, e))?;
        let index = args.from + i as u64;
        if args.json {
            let v = serde_json::json!({ "index": index, "record": record });
            writeln!(out, "{v}")?;
            continue;
        }
        match &record {
            Record::HostCall(hc) => {
                let name = names.get(hc.import.0 as usize).map_or("?", String::as_str);
                let writes: Vec<String> = hc
                    .memory_writes
                    .iter()
                    .map(|w| format!("{}B@{:#x}", w.bytes.len(), w.address))
                    .collect();
                let list = |vals: &[deja_traces::Value]| {
                    vals.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let ended = match &hc.outcome {
                    deja_traces::CallOutcome::Returned => format!("-> ({})", list(&hc.results)),
                    other => format!("-> {other}"),
                };
                let written = if writes.is_empty() {
                    String::new()
                } else {
                    format!(", wrote {}", writes.join(", "))
                };
                writeln!(
                    out,
                    "#{index} @{} call {name}({}) {ended}{written}",
                    hc.position.0,
                    list(&hc.args),
                )?;
            }
            Record::Event(e) => {
                let frames: Vec<String> = e.backtrace.iter().map(frame_text).collect();
                writeln!(
                    out,
                    "#{index} @{} event {}{}",
                    e.position.0,
                    e.kind,
                    if frames.is_empty() {
                        String::new()
                    } else {
                        format!("\n    at {}", frames.join("\n    at "))
                    }
                )?;
            }
            Record::End(e) => writeln!(out, "#{index} @{} end: {}", e.total_steps.0, e.outcome)?,
            Record::Progress(p) => writeln!(out, "#{index} @{} progress", p.0)?,
        }
    }
    Ok(())
}
