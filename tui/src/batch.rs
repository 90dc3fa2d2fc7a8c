//! The batch front end: one command per line, one result per command.
//!
//! Commands: `step [N]`, `rstep [N]`, `next`, `rnext`, `finish`, `rfinish`, `continue`,
//! `rcontinue`, `goto POSITION|start|end|hostcall K`, `break FILE:LINE|FUNCTION|FUNC[:PC]`,
//! `watch EXPR|ADDR LEN`, `delete ID`, `where`, `locals [FRAME]`, `stack [FRAME]`, `vars [FRAME]`,
//! `print [/x] EXPR`, `globals`, `mem ADDR LEN`, `output`, `info`. With DWARF (a module built
//! with `clang -g`), `where` gives each frame's file, line and column and the functions inlined
//! there, `print` and `vars` show C values, `break` takes source lines and function names, and
//! `watch` a C expression. Numbers are decimal or 0x-hex. A bad command gives an error
//! result and the session goes on.
//!
//! With JSON, each result is an object with at least `command`, `ok` and `position`; movements
//! add `stop` (`step`, `breakpoint`, `watchpoint`, `event`, `start`, `end`, `cancelled`).

use crate::error::Error;
use deja_debuginfo::{DebugInfo, SessionFrame};
use deja_replayer::runtime::{FuncIndex, Module, Val};
use deja_replayer::{Session, Stop, StopReason};
use serde_json::{Value, json};
use std::io::{BufRead, Read, Seek, Write};

/// Parses a number in decimal or 0x-hex.
pub fn parse_number(s: &str) -> Result<u64, Error> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse::<u64>(),
    };
    r.map_err(|_| Error::Command(format!("`{s}` is not a number (decimal or 0x-hex)")))
}

fn value_json(v: &Val) -> Value {
    let mut j = json!({ "type": v.ty().to_string(), "value": v.to_string() });
    if let Val::V128(bits) = *v {
        // Every lane view, for scripts that read a vector as its program does.
        let lanes: serde_json::Map<String, Value> = deja_replayer::runtime::simd::lane_views(bits)
            .into_iter()
            .map(|(shape, lanes)| (shape.to_string(), lanes.into()))
            .collect();
        j["lanes"] = lanes.into();
    }
    j
}

fn stop_json(stop: &Stop) -> Value {
    let mut v = json!({ "stop": stop.reason.name() });
    match stop.reason {
        StopReason::Breakpoint(id) | StopReason::Watchpoint(id) | StopReason::Throw(id) => {
            v["id"] = id.into();
        }
        _ => {}
    }
    v
}

fn arg<'a>(args: &[&'a str], i: usize, what: &str) -> Result<&'a str, Error> {
    args.get(i)
        .copied()
        .ok_or_else(|| Error::Command(format!("missing {what}")))
}

/// The call stack, innermost first: with DWARF, each frame's file, line and column, and the
/// functions inlined into it (entries marked `inlined`, before the frame that holds them).
fn frames<R: Read + Seek + Send + 'static>(
    s: &mut Session<R>,
    info: Option<&DebugInfo>,
) -> Vec<Value> {
    let module = s.module().clone();
    let mut out = Vec::new();
    let mut c = s.store().debug_frames();
    while !c.done() {
        let (func, pc) = c.wasm_function_index_and_pc().expect("not done");
        let source = info.map(|i| i.frames_at(pc)).unwrap_or_default();
        if source.is_empty() {
            out.push(json!({
                "func": func.as_u32(),
                "name": module.func_name(func),
                "pc": pc,
            }));
        }
        for f in source {
            let mut v = json!({
                "func": func.as_u32(),
                "name": if f.inlined { Some(f.function.as_str()) } else { module.func_name(func).or(Some(f.function.as_str())) },
                "pc": pc,
            });
            if f.inlined {
                v["inlined"] = true.into();
                v["name"] = f.function.clone().into();
            } else {
                v["function"] = f.function.clone().into();
            }
            if let Some(loc) = f.location {
                v["file"] = loc.file.into();
                v["line"] = loc.line.into();
                v["column"] = loc.column.into();
            }
            out.push(v);
        }
        c.move_to_parent();
    }
    out
}

/// The function whose code holds instruction `pc`.
fn func_of(module: &Module, pc: u32) -> Option<FuncIndex> {
    (module.num_imported_funcs()..module.num_funcs())
        .map(FuncIndex::from_u32)
        .find(|f| module.instruction_pcs(*f).binary_search(&pc).is_ok())
}

fn need_dwarf(info: Option<&DebugInfo>) -> Result<&DebugInfo, Error> {
    info.ok_or_else(|| {
        Error::Source(
            "the module has no debug information (DWARF): build it with `clang -g`".into(),
        )
    })
}

fn frame_of<'a, R: Read + Seek + Send + 'static>(
    s: &'a Session<R>,
    frame: usize,
) -> Result<SessionFrame<'a, R>, Error> {
    SessionFrame::new(s, frame).ok_or_else(|| {
        Error::Command(match frame {
            0 => "no frame here: the guest is not running at this position".to_string(),
            n => format!("there is no frame {n}"),
        })
    })
}

/// `print [/x] EXPR`: a C expression's value in the innermost frame.
fn print<R: Read + Seek + Send + 'static>(
    s: &Session<R>,
    info: Option<&DebugInfo>,
    rest: &str,
) -> Result<Value, Error> {
    let info = need_dwarf(info)?;
    let (hex, expression) = match rest.trim().strip_prefix("/x") {
        Some(e) => (true, e.trim()),
        None => (false, rest.trim()),
    };
    if expression.is_empty() {
        return Err("print what? (print EXPR, print /x EXPR)".into());
    }
    let frame = frame_of(s, 0)?;
    let v = info.eval(expression, &frame)?;
    Ok(json!({
        "expression": expression,
        "value": info.format(&v, &frame, hex),
        "type": info.type_name(&v),
    }))
}

/// The C variables of a frame (parameters and locals in scope at its pc).
fn variables<R: Read + Seek + Send + 'static>(
    s: &Session<R>,
    info: Option<&DebugInfo>,
    frame: usize,
) -> Result<Value, Error> {
    let info = need_dwarf(info)?;
    // FRAME counts as `where` lists frames: an inlined call is a frame of its own.
    let (mut wasm, mut inline) = (0, frame);
    loop {
        let f = frame_of(s, wasm)?;
        let n = info.frames_at(deja_debuginfo::Frame::pc(&f)).len().max(1);
        if inline < n {
            break;
        }
        inline -= n;
        wasm += 1;
    }
    let f = frame_of(s, wasm)?;
    let vars: Vec<Value> = info
        .frame_locals(deja_debuginfo::Frame::pc(&f), inline)
        .into_iter()
        .map(|var| match info.value(var, &f) {
            Ok(v) => json!({
                "name": var.name,
                "type": info.type_name(&v),
                "value": info.format(&v, &f, false),
            }),
            Err(e) => json!({ "name": var.name, "value": format!("<{e}>") }),
        })
        .collect();
    Ok(json!({ "frame": frame, "vars": vars }))
}

/// `break FILE:LINE` (every statement of the line) or `break FUNCTION` after its prologue.
fn source_break<R: Read + Seek + Send + 'static>(
    s: &mut Session<R>,
    info: &DebugInfo,
    spec: &str,
) -> Option<Result<Value, Error>> {
    let module = s.module().clone();
    if let Some((file, line)) = spec.rsplit_once(':')
        && info.has_file(file)
    {
        let Ok(line) = line.parse::<u32>() else {
            return Some(Err(Error::Command(format!(
                "`{line}` is not a line number"
            ))));
        };
        let Some((loc, pcs)) = info.line_pcs(file, line) else {
            return Some(Err(Error::Command(format!(
                "no code at or after {file}:{line}"
            ))));
        };
        let mut ids = Vec::new();
        for pc in pcs {
            let Some(func) = func_of(&module, pc) else {
                continue;
            };
            match s.add_breakpoint(func, Some(pc)) {
                Ok(id) => ids.push(id),
                Err(e) => return Some(Err(Error::Source(e.to_string()))),
            }
        }
        if ids.is_empty() {
            return Some(Err(Error::Command(format!(
                "no instruction at {file}:{line}"
            ))));
        }
        let mut v = json!({ "ids": ids, "file": loc.file, "line": loc.line });
        if ids.len() == 1 {
            v["id"] = ids[0].into();
        }
        return Some(Ok(v));
    }
    if let Some((file, line)) = spec.rsplit_once(':')
        && file.contains('.')
        && line.parse::<u32>().is_ok()
    {
        return Some(Err(Error::Command(format!(
            "no source file `{file}` in the module's debug information"
        ))));
    }
    let pc = info.function_breakpoint(spec)?;
    let func = func_of(&module, pc)?;
    Some(
        s.add_breakpoint(func, Some(pc))
            .map_err(Error::from)
            .map(|id| {
                let loc = info.location(pc);
                json!({
                    "id": id,
                    "func": func.as_u32(),
                    "pc": pc,
                    "file": loc.as_ref().map(|l| l.file.clone()),
                    "line": loc.map(|l| l.line),
                })
            }),
    )
}

/// Values of one frame: its locals or its operand stack.
fn frame_values<R: Read + Seek + Send + 'static>(
    s: &mut Session<R>,
    frame: usize,
    locals: bool,
) -> Result<Vec<Value>, Error> {
    let mut c = s.store().debug_frames();
    for _ in 0..frame {
        c.move_to_parent();
    }
    if c.done() {
        return Err(Error::Command(format!("there is no frame {frame}")));
    }
    Ok(if locals {
        (0..c.num_locals())
            .map(|i| value_json(&c.local(i)))
            .collect()
    } else {
        (0..c.num_stacks())
            .map(|i| value_json(&c.stack(i)))
            .collect()
    })
}

fn func_by_spec<R: Read + Seek + Send + 'static>(
    s: &Session<R>,
    spec: &str,
) -> Result<FuncIndex, Error> {
    if let Ok(n) = parse_number(spec) {
        return Ok(FuncIndex::from_u32(n as u32));
    }
    s.module()
        .func_by_name(spec.trim_start_matches('$'))
        .ok_or_else(|| Error::Command(format!("no function named `{spec}`")))
}

/// What `help` lists: each command and what it does.
const HELP: &[&str] = &[
    "step [N] / rstep [N]: N source lines (with DWARF) or instructions forward / back (s, S)",
    "next / rnext: over calls, by source line with DWARF (n, N)",
    "stepi [N] / rstepi [N], nexti / rnexti: by instruction (si, rsi, ni, rni)",
    "finish / rfinish: out to the caller (f, F)",
    "continue / rcontinue: to a breakpoint, watchpoint, catchpoint or the end (c, C)",
    "goto POS | N% | start | end | hostcall K: go there (g)",
    "break FILE:LINE | FUNCTION | FUNC[:PC]: a breakpoint on a source line, after a function's prologue, or at a function's entry or pc (b)",
    "watch EXPR | ADDR LEN: stop at writes to a variable's bytes or to memory (w)",
    "catch throw: stop before every instruction that throws an exception (continue, rcontinue)",
    "print [/x] EXPR: a C expression's value, in hex with /x (p)",
    "vars [FRAME]: a frame's C variables",
    "delete ID: remove a breakpoint or watchpoint (d)",
    "where: the call stack (bt)",
    "locals [FRAME] / stack [FRAME]: a frame's locals / operand stack",
    "globals: the instance's globals",
    "mem ADDR LEN: memory bytes (x)",
    "output: the guest's stdout and stderr so far",
    "info: start, end, host calls, checkpoints, outcome",
    "help: this list (h)",
];

/// Executes one command; `Ok` holds the fields of the result.
fn execute<R: Read + Seek + Send + 'static>(
    s: &mut Session<R>,
    info: Option<&DebugInfo>,
    line: &str,
) -> Result<Value, Error> {
    // gdb's `p/x EXPR`: a format glued to the command word is its first argument.
    let line = match line.trim_start().split_once('/') {
        Some((word @ ("p" | "print"), format)) => format!("{word} /{format}"),
        _ => line.to_string(),
    };
    let line = line.as_str();
    let words: Vec<&str> = line.split_whitespace().collect();
    let (cmd, args) = words.split_first().ok_or("empty command")?;
    // The text after the command word, for commands that take an expression.
    let rest = line.trim_start()[cmd.len()..].trim();
    let count =
        |args: &[&str]| -> Result<u64, Error> { args.first().map_or(Ok(1), |n| parse_number(n)) };
    let moved =
        |r: Result<Stop, deja_replayer::Error>| r.map(|s| stop_json(&s)).map_err(Error::from);
    match *cmd {
        // By source line with DWARF, else by instruction; `stepi` and the others always by
        // instruction.
        "step" | "s" | "rstep" | "S" | "next" | "n" | "rnext" | "N" if info.is_some() => {
            let reverse = matches!(*cmd, "rstep" | "S" | "rnext" | "N");
            let over = matches!(*cmd, "next" | "n" | "rnext" | "N");
            let info = info.expect("checked");
            let mut last = Err(Error::from("no step"));
            for _ in 0..count(args)? {
                last = moved(crate::lines::line_step(s, info, over, reverse));
                if last.as_ref().map_or(true, |v| v["stop"] != "step") {
                    break;
                }
            }
            last
        }
        "step" | "s" | "stepi" | "si" => moved(s.step_forward(count(args)?)),
        "rstep" | "S" | "rstepi" | "rsi" => moved(s.reverse_step(count(args)?)),
        "next" | "n" | "nexti" | "ni" => moved(s.step_over()),
        "rnext" | "N" | "rnexti" | "rni" => moved(s.reverse_step_over()),
        "finish" | "f" => moved(s.finish()),
        "rfinish" | "F" => moved(s.reverse_finish()),
        "continue" | "c" => moved(s.continue_forward()),
        "rcontinue" | "C" => moved(s.reverse_continue()),
        "goto" | "g" => {
            let target = arg(args, 0, "a position, N%, start, end or hostcall K")?;
            match target {
                "start" => moved(s.seek(s.start())),
                "end" => moved(s.seek(s.end())),
                "hostcall" => {
                    let k = parse_number(arg(args, 1, "the host call number")?)?;
                    let calls = s.host_calls().len();
                    if k as usize >= calls {
                        return Err(match calls {
                            0 => "the run makes no host calls".into(),
                            n => format!("no host call {k}: the run makes {n} (0 to {})", n - 1)
                                .into(),
                        });
                    }
                    moved(s.seek_host_call(k as usize))
                }
                p if p.ends_with('%') => {
                    // As the TUI's `g`: a share of the run, from its start.
                    let percent: f64 = p[..p.len() - 1]
                        .parse()
                        .ok()
                        .filter(|x: &f64| (0.0..=100.0).contains(x))
                        .ok_or_else(|| format!("`{p}` is not a percentage from 0% to 100%"))?;
                    let span = (s.end() - s.start()) as f64;
                    moved(s.seek(s.start() + (span * percent / 100.0).round() as u64))
                }
                p => {
                    let p = parse_number(p)?;
                    if p > s.end() {
                        let end = s.end();
                        let mut v = moved(s.seek(end))?;
                        v["note"] = format!(
                            "position {p} is past the end of the run; stopped at the end ({end})"
                        )
                        .into();
                        Ok(v)
                    } else {
                        moved(s.seek(p))
                    }
                }
            }
        }
        "help" | "h" => Ok(json!({ "commands": HELP })),
        "break" | "b" => {
            let spec = arg(args, 0, "FILE:LINE, FUNCTION or FUNC[:PC]")?;
            if let Some(info) = info
                && let Some(r) = source_break(s, info, spec)
            {
                return r;
            }
            let (func, pc) = match spec.split_once(':') {
                Some((f, pc)) => (f, Some(parse_number(pc)? as u32)),
                None => (spec, None),
            };
            let func = func_by_spec(s, func)?;
            let id = s.add_breakpoint(func, pc).map_err(Error::from)?;
            let deja_replayer::StopPoint::Breakpoint { pc, .. } = s.stop_points()[&id] else {
                unreachable!("just added a breakpoint")
            };
            Ok(json!({ "id": id, "func": func.as_u32(), "pc": pc }))
        }
        "catch" => match args {
            ["throw"] => Ok(json!({ "id": s.add_catch_throw(), "catch": "throw" })),
            _ => Err("catch what? (`catch throw` stops before every throw)".into()),
        },
        "watch" | "w" => {
            if let [addr, len] = args
                && let (Ok(addr), Ok(len)) = (parse_number(addr), parse_number(len))
            {
                return Ok(json!({ "id": s.add_watchpoint(addr, len) }));
            }
            // A C expression: the bytes of its value.
            if rest.is_empty() {
                return Err("watch what? (watch EXPR or watch ADDR LEN)".into());
            }
            let d = need_dwarf(info)
                .map_err(|e| Error::Command(format!("`{rest}` is not ADDR LEN, and {e}")))?;
            let frame = frame_of(s, 0)?;
            let v = d.eval(rest, &frame)?;
            let (addr, len) = d
                .extent(&v)
                .map_err(|e| Error::Command(format!("cannot watch `{rest}`: {e}")))?;
            Ok(
                json!({ "id": s.add_watchpoint(addr, len), "expression": rest, "address": addr, "len": len }),
            )
        }
        "print" | "p" => print(s, info, rest),
        "vars" => {
            let frame = args.first().map_or(Ok(0), |n| parse_number(n))? as usize;
            variables(s, info, frame)
        }
        "delete" | "d" => {
            let id = parse_number(arg(args, 0, "ID")?)? as u32;
            if s.delete(id) {
                Ok(json!({ "id": id }))
            } else {
                Err(Error::Command(format!("no breakpoint or watchpoint {id}")))
            }
        }
        "where" | "bt" => Ok(json!({ "frames": frames(s, info) })),
        "locals" => {
            let frame = args.first().map_or(Ok(0), |n| parse_number(n))? as usize;
            Ok(json!({ "frame": frame, "locals": frame_values(s, frame, true)? }))
        }
        "stack" => {
            let frame = args.first().map_or(Ok(0), |n| parse_number(n))? as usize;
            Ok(json!({ "frame": frame, "stack": frame_values(s, frame, false)? }))
        }
        "globals" => {
            Ok(json!({ "globals": s.globals().iter().map(value_json).collect::<Vec<_>>() }))
        }
        "mem" | "x" => {
            let addr = parse_number(arg(args, 0, "ADDR")?)?;
            let len = parse_number(arg(args, 1, "LEN")?)?;
            if len > 1 << 20 {
                return Err("at most 1 MiB at a time".into());
            }
            let bytes = s
                .read_memory(addr, len)
                .ok_or_else(|| format!("{len} bytes at {addr:#x} are outside memory"))?;
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            Ok(json!({ "address": addr, "bytes": hex }))
        }
        "output" => {
            let (out, err) = s.output();
            Ok(json!({
                "stdout": String::from_utf8_lossy(&out),
                "stderr": String::from_utf8_lossy(&err),
            }))
        }
        "info" => Ok(json!({
            "start": s.start(),
            "end": s.end(),
            "host_calls": s.host_calls().len(),
            "checkpoints": s.checkpoint_count(),
            "outcome": s.outcome().map(ToString::to_string),
        })),
        other => Err(Error::Command(format!("unknown command `{other}`"))),
    }
}

/// Text rendering of a result.
fn text(line: &str, position: u64, r: &Result<Value, Error>) -> String {
    match r {
        Err(e) => format!("{line}: error: {e}"),
        Ok(v) if v.get("commands").is_some() => {
            let list: Vec<&str> = v["commands"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            format!("{line}:\n  {}", list.join("\n  "))
        }
        Ok(v) => {
            let mut fields = Vec::new();
            if let Some(stop) = v.get("stop") {
                fields.push(format!("stop {}", stop.as_str().unwrap_or_default()));
            }
            if let Some(obj) = v.as_object() {
                for (k, val) in obj {
                    if k != "stop" {
                        fields.push(format!("{k} {val}"));
                    }
                }
            }
            format!("{line}: position {position} {}", fields.join(" "))
        }
    }
}

/// Runs commands from `input` against the session, writing one result line per command.
/// Returns how many commands failed.
///
/// `progress`, when given, makes the progress report of each command's movements (a fresh one
/// per command); a movement it cancels ends with stop `cancelled`, counts as failed and ends
/// the batch (the rest of the commands do not run). So does `stop` saying true before a
/// command (an interrupt that came between commands or during a quick one).
///
/// # Errors
/// Only I/O errors on `input` or `output`; a failing command is a result, not an error.
pub fn run<R: Read + Seek + Send + 'static>(
    session: &mut Session<R>,
    input: impl BufRead,
    mut output: impl Write,
    json: bool,
    mut progress: Option<&mut dyn FnMut() -> deja_replayer::Progress>,
    stop: &dyn Fn() -> bool,
) -> std::io::Result<usize> {
    let mut failed = 0;
    let info = DebugInfo::new(session.module().bytes()).ok().flatten();
    for line in input.lines() {
        let line = line?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if stop() {
            break;
        }
        if let Some(make) = progress.as_mut() {
            session.set_progress(Some(make()));
        }
        let r = execute(session, info.as_ref(), line);
        // Dropping the report clears its display before the result line.
        session.set_progress(None);
        let cancelled = r
            .as_ref()
            .is_ok_and(|v| v.get("stop").and_then(Value::as_str) == Some("cancelled"));
        failed += usize::from(r.is_err() || cancelled);
        let position = session.position();
        if json {
            let mut v = json!({ "command": line, "ok": r.is_ok(), "position": position });
            match &r {
                Ok(fields) => {
                    if let Some(obj) = fields.as_object() {
                        for (k, val) in obj {
                            v[k] = val.clone();
                        }
                    }
                }
                Err(e) => v["error"] = e.to_string().into(),
            }
            writeln!(output, "{v}")?;
        } else {
            writeln!(output, "{}", text(line, position, &r))?;
        }
        if cancelled {
            break;
        }
    }
    Ok(failed)
}
