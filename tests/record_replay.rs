//! `deja record`, `replay`, `info` and `dump` end to end on the real binary.

use std::path::PathBuf;
use std::process::{Command, Stdio};

mod support;

use support::{deja_in, repo, text};

fn tmp(name: &str) -> PathBuf {
    support::scratch(&format!("rr-{name}"))
}

#[test]
fn until_failure_keeps_the_failing_run_and_replay_reproduces_it() {
    let work = tmp("flaky");
    let data = work.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::copy(
        repo().join("examples/flaky/data/prices.txt"),
        data.join("prices.txt"),
    )
    .unwrap();
    let wasm = repo().join("examples/flaky/flaky.wasm");
    let rec = deja_in(
        &work,
        &[
            "record",
            "--until-failure",
            "300",
            "--dir",
            "data::data",
            wasm.to_str().unwrap(),
        ],
    );
    let err = text(&rec.stderr);
    assert!(err.contains("failed on run "), "{err}");
    let code = rec.status.code().unwrap();
    assert!(code == 1 || code == 134, "exit {code}: {err}");
    let trace = work.join("flaky.deja");
    assert!(trace.is_file());
    let rep = deja_in(&work, &["replay", "flaky.deja"]);
    assert_eq!(rep.status.code(), Some(code), "{}", text(&rep.stderr));
    assert!(
        text(&rep.stderr).starts_with("replay matches: "),
        "{}",
        text(&rep.stderr)
    );
    // Never overwritten silently.
    let again = deja_in(
        &work,
        &["record", "--dir", "data::data", wasm.to_str().unwrap()],
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("exists"),
        "{}",
        text(&again.stderr)
    );
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn recordings_on_either_engine_replay_exactly_on_both() {
    let work = tmp("jit");
    let data = work.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::copy(
        repo().join("examples/flaky/data/prices.txt"),
        data.join("prices.txt"),
    )
    .unwrap();
    let flaky = repo().join("examples/flaky/flaky.wasm");
    let divide = repo().join("examples/wat/divide.wat");
    let mut summaries = Vec::new();
    for (engine, wasm) in [
        ("jit", &flaky),
        ("interp", &flaky),
        ("jit", &divide),
        ("interp", &divide),
    ] {
        let out = format!("{engine}-{}.deja", summaries.len());
        let rec = deja_in(
            &work,
            &[
                "record",
                "--engine",
                engine,
                "-o",
                &out,
                "--dir",
                "data::data",
                wasm.to_str().unwrap(),
            ],
        );
        let info = deja_in(&work, &["info", &out]);
        assert!(
            text(&info.stdout).contains(&format!("\"engine\":\"{engine}\"")),
            "{}",
            text(&info.stdout)
        );
        // Every recording replays on both engines, with the same summary (the outcome, the
        // steps and the host calls).
        let mut replays = Vec::new();
        for on in ["interp", "jit"] {
            let rep = deja_in(&work, &["replay", "--engine", on, &out]);
            let err = text(&rep.stderr);
            assert!(
                err.starts_with("replay matches: "),
                "{engine} on {on}: {err}"
            );
            assert_eq!(rep.status.code(), rec.status.code(), "{err}");
            replays.push(err);
        }
        assert_eq!(replays[0], replays[1], "recorded on {engine}");
        summaries.push((rec.status.code(), replays.remove(0)));
    }
    // flaky.wasm draws random numbers; divide.wat is deterministic: the same run on both.
    assert_eq!(
        summaries[2], summaries[3],
        "both engines record the same run"
    );
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn until_failure_keeps_nothing_when_every_run_passes() {
    let work = tmp("pass");
    let fib = repo().join("examples/wat/fib.wat");
    let out = deja_in(
        &work,
        &["record", "--until-failure", "3", fib.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("all 3 runs passed; no trace kept"));
    assert!(!work.join("fib.deja").exists());
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn a_trace_replays_elsewhere_with_its_directories_gone() {
    let work = tmp("portable");
    let data = work.join("files");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("note.txt"), "recorded once, replayed anywhere\n").unwrap();
    let cat = repo().join("examples/wat/cat.wat");
    let rec = deja_in(
        &work,
        &[
            "record",
            "-o",
            "cat.deja",
            "--dir",
            "files::.",
            cat.to_str().unwrap(),
            "--",
            "note.txt",
        ],
    );
    assert_eq!(rec.status.code(), Some(0), "{}", text(&rec.stderr));
    assert_eq!(text(&rec.stdout), "recorded once, replayed anywhere\n");
    // Move the trace away and delete everything it was recorded from.
    let elsewhere = tmp("portable-elsewhere");
    std::fs::rename(work.join("cat.deja"), elsewhere.join("cat.deja")).unwrap();
    std::fs::remove_dir_all(&work).unwrap();
    let rep = deja_in(&elsewhere, &["replay", "--print-output", "cat.deja"]);
    assert_eq!(rep.status.code(), Some(0), "{}", text(&rep.stderr));
    assert_eq!(text(&rep.stdout), "recorded once, replayed anywhere\n");
    // Without --print-output nothing of the guest's output appears.
    let quiet = deja_in(&elsewhere, &["replay", "cat.deja"]);
    assert!(quiet.stdout.is_empty());
    // info and dump describe it.
    let info = deja_in(&elsewhere, &["info", "cat.deja"]);
    let info_text = text(&info.stdout);
    assert!(
        info_text.contains("wasi_snapshot_preview1::fd_read"),
        "{info_text}"
    );
    assert!(
        info_text.contains("args:        cat.wat note.txt"),
        "{info_text}"
    );
    let json = deja_in(&elsewhere, &["info", "--json", "cat.deja"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(v["host_calls"].as_u64().unwrap() >= 4, "{v}");
    let dump = deja_in(
        &elsewhere,
        &["dump", "--from", "1", "--count", "2", "cat.deja"],
    );
    let lines: Vec<_> = text(&dump.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("#1 @"), "{lines:?}");
    let dump = deja_in(&elsewhere, &["dump", "--json", "cat.deja"]);
    for line in text(&dump.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["record"].is_object(), "{line}");
    }
    std::fs::remove_dir_all(&elsewhere).unwrap();
}

#[test]
fn a_killed_recorder_leaves_a_trace_that_replays_to_where_it_stopped() {
    let work = tmp("killed");
    let ticker = repo().join("examples/wat/ticker.wat");
    let mut child = Command::new(env!("CARGO_BIN_EXE_deja"))
        .args(["record", "-o", "t.deja", ticker.to_str().unwrap()])
        .current_dir(&work)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let info = deja_in(&work, &["info", "t.deja"]);
    assert_eq!(info.status.code(), Some(0), "{}", text(&info.stderr));
    assert!(
        text(&info.stdout).contains("TRUNCATED"),
        "{}",
        text(&info.stdout)
    );
    assert!(
        text(&info.stdout).contains("the last recorded position is "),
        "{}",
        text(&info.stdout)
    );
    let rep = deja_in(&work, &["replay", "t.deja"]);
    assert_eq!(rep.status.code(), Some(120), "{}", text(&rep.stderr));
    let err = text(&rep.stderr);
    assert!(
        err.contains("replay stopped at the end of a truncated trace"),
        "{err}"
    );
    assert!(err.contains("up to position "), "{err}");
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn damaged_or_foreign_traces_are_refused_clearly() {
    let work = tmp("damaged");
    std::fs::write(work.join("foreign.deja"), b"this is not a trace at all").unwrap();
    std::fs::write(work.join("empty.deja"), b"").unwrap();
    for f in ["foreign.deja", "empty.deja", "missing.deja"] {
        for cmd in ["replay", "info", "dump"] {
            let out = deja_in(&work, &[cmd, f]);
            // A file that is not there cannot be read (111, as a missing module); one that is
            // there but is no trace is refused as a trace (119).
            let expected = if f == "missing.deja" { 111 } else { 119 };
            assert_eq!(
                out.status.code(),
                Some(expected),
                "{cmd} {f}: {}",
                text(&out.stderr)
            );
            let err = text(&out.stderr);
            assert!(err.starts_with(&format!("error: {f}: ")), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
    // A good trace with one byte flipped in its record area.
    let fib = repo().join("examples/wat/fib.wat");
    let rec = deja_in(&work, &["record", "-o", "good.deja", fib.to_str().unwrap()]);
    assert_eq!(rec.status.code(), Some(0), "{}", text(&rec.stderr));
    let mut bytes = std::fs::read(work.join("good.deja")).unwrap();
    let n = bytes.len();
    bytes[n - 30] ^= 0x40;
    std::fs::write(work.join("flipped.deja"), &bytes).unwrap();
    let out = deja_in(&work, &["replay", "flipped.deja"]);
    assert_eq!(out.status.code(), Some(119), "{}", text(&out.stderr));
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn traps_and_budgets_are_recorded_and_replayed() {
    let work = tmp("trap");
    let recurse = repo().join("examples/wat/recurse.wat");
    let rec = deja_in(
        &work,
        &["record", "-o", "r.deja", recurse.to_str().unwrap()],
    );
    assert_eq!(rec.status.code(), Some(116), "{}", text(&rec.stderr));
    assert!(text(&rec.stderr).contains("call stack exhausted"));
    let rep = deja_in(&work, &["replay", "r.deja"]);
    assert_eq!(rep.status.code(), Some(116), "{}", text(&rep.stderr));
    let ticker = repo().join("examples/wat/ticker.wat");
    let rec = deja_in(
        &work,
        &[
            "record",
            "-o",
            "b.deja",
            "--max-steps",
            "2000000",
            ticker.to_str().unwrap(),
        ],
    );
    assert_eq!(rec.status.code(), Some(115), "{}", text(&rec.stderr));
    let rep = deja_in(&work, &["replay", "b.deja"]);
    assert_eq!(rep.status.code(), Some(115), "{}", text(&rep.stderr));
    assert!(
        text(&rep.stderr).contains("after 2000000 steps"),
        "{}",
        text(&rep.stderr)
    );
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn debug_batch_moves_both_ways_and_reports_json() {
    use std::io::Write;
    let work = tmp("batch");
    let cat = repo().join("examples/wat/cat.wat");
    std::fs::write(work.join("in.txt"), "abc\n").unwrap();
    let rec = deja_in(
        &work,
        &[
            "record",
            "-o",
            "c.deja",
            "--dir",
            ".::.",
            cat.to_str().unwrap(),
            "--",
            "in.txt",
        ],
    );
    assert_eq!(rec.status.code(), Some(0), "{}", text(&rec.stderr));
    let script = "info\nwhere\noutput\ngoto start\nwhere\nstep 5\nrstep 2\nbreak 6\ncontinue\nlocals\nstack 0\nrcontinue\ndelete 1\nwatch 72 4\ncontinue\nrcontinue\ngoto hostcall 2\nmem 0x40 8\nglobals\nnope\ndelete 99\ngoto end\noutput\n";
    let mut child = Command::new(env!("CARGO_BIN_EXE_deja"))
        .args(["debug", "--batch", "-", "--json", "c.deja"])
        .current_dir(&work)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    // `nope` and `delete 99` fail: every command still runs, and the exit code says so.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let results: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), script.lines().count());
    let by = |cmd: &str| {
        results
            .iter()
            .find(|r| r["command"] == cmd)
            .unwrap()
            .clone()
    };
    for r in &results {
        assert!(
            r["command"].is_string() && r["ok"].is_boolean() && r["position"].is_u64(),
            "{r}"
        );
    }
    let end = by("info")["end"].as_u64().unwrap();
    assert_eq!(results[0]["position"], end, "opens at the end");
    assert_eq!(by("output")["stdout"], "abc\n");
    assert_eq!(by("goto start")["stop"], "start");
    assert_eq!(
        by("step 5")["position"],
        results[3]["position"].as_u64().unwrap() + 5
    );
    assert_eq!(by("rstep 2")["stop"], "step");
    // Function 6 is $strlen (six imports come first): continue stops at its entry.
    let bp = by("continue");
    assert_eq!(bp["stop"], "breakpoint", "{bp}");
    assert_eq!(by("locals")["locals"][0]["type"], "i32");
    let back = by("rcontinue");
    assert_eq!(back["stop"], "start", "no earlier hit: {back}");
    let w = results
        .iter()
        .filter(|r| r["command"] == "continue")
        .nth(1)
        .unwrap();
    assert_eq!(w["stop"], "watchpoint", "{w}");
    let rw = results
        .iter()
        .filter(|r| r["command"] == "rcontinue")
        .nth(1)
        .unwrap();
    assert!(rw["stop"] == "watchpoint" || rw["stop"] == "start", "{rw}");
    assert_eq!(by("mem 0x40 8")["bytes"].as_str().unwrap().len(), 16);
    assert_eq!(by("delete 1")["ok"], true);
    assert_eq!(by("nope")["ok"], false);
    assert_eq!(by("delete 99")["ok"], false);
    assert_eq!(by("goto end")["position"], end);
    std::fs::remove_dir_all(&work).unwrap();
}

/// A recorder that died after writing the trap but before the end: the trace opens at the
/// trap, with its frames, in `--batch` (and so in the TUI, which shares the session).
#[test]
fn a_truncated_trace_that_holds_the_trap_opens_at_the_trap() {
    let work = tmp("truncated-trap");
    let reader = deja_traces::TraceReader::open(repo().join("examples/flaky/trap.deja")).unwrap();
    let path = work.join("cut.deja");
    let mut writer = deja_traces::TraceWriter::create(
        &path,
        reader.header().clone(),
        &reader.module_bytes().unwrap(),
        deja_traces::WriterOptions::default(),
    )
    .unwrap();
    let mut trap_at = None;
    for record in reader.records() {
        let record = record.unwrap();
        if let deja_traces::Record::Event(e) = &record {
            trap_at = Some(e.position.0);
        }
        if !matches!(record, deja_traces::Record::End(_)) {
            writer.push(record).unwrap();
        }
    }
    // Dropped unfinished: no end record, no footer.
    drop(writer);
    let trap_at = trap_at.expect("the trap event");
    let info = deja_in(&work, &["info", "cut.deja"]);
    assert!(
        text(&info.stdout).contains("TRUNCATED"),
        "{}",
        text(&info.stdout)
    );
    std::fs::write(work.join("script"), "where\nrstepi\nstepi\nwhere\ninfo\n").unwrap();
    let out = deja_in(&work, &["debug", "--batch", "script", "cut.deja"]);
    let so = text(&out.stdout);
    let lines: Vec<&str> = so.lines().collect();
    assert!(
        lines[0].starts_with(&format!("where: position {trap_at} frames [{{")),
        "{so}"
    );
    assert!(lines[0].contains("flaky.c"), "{so}");
    assert_eq!(
        lines[0].replace("where", ""),
        lines[3].replace("where", ""),
        "{so}"
    );
    assert!(lines[2].ends_with("stop event"), "{so}");
    assert!(lines[4].contains("integer divide by zero"), "{so}");
    std::fs::remove_dir_all(&work).unwrap();
}

/// WebAssembly 3.0 end to end (`examples/wat/wasm3.wat`: tail calls, a function reference, a
/// second 64-bit memory, and a trap on a null reference): recorded on either engine, replayed
/// on both, and walked backward and forward through its tail calls, which never add a frame.
#[test]
fn a_wasm3_program_records_replays_and_steps_both_ways_on_both_engines() {
    let work = tmp("wasm3");
    let wasm = repo().join("examples/wat/wasm3.wat");
    let script = work.join("script");
    std::fs::write(
        &script,
        "break sum\nrcontinue\nwhere\nlocals\nrcontinue\nlocals\ncontinue\nlocals\nrstep 3\nstack\n",
    )
    .unwrap();
    let transcripts = on_both_engines(&work, &wasm, &script, 134, |_, rec| {
        assert_eq!(rec.status.code(), Some(134), "{}", text(&rec.stderr));
        assert_eq!(text(&rec.stdout), "5050\n");
        assert!(
            text(&rec.stderr).contains("null function reference"),
            "{}",
            text(&rec.stderr)
        );
        "replay matches: trapped: null function reference, after 1622 steps, 1 host calls"
    });
    let t = &transcripts[0];
    let lines: Vec<&str> = t.lines().collect();
    // The last tail call (n = 0), then back to n = 1, forward to n = 0 again, all two frames
    // deep: `_start` and `sum`.
    assert!(
        lines[1].starts_with("rcontinue: position 1506 stop breakpoint"),
        "{t}"
    );
    assert!(
        lines[2].contains(r#"{"func":1,"name":"sum","pc":125},{"func":3"#),
        "{t}"
    );
    assert_eq!(lines[2].matches("\"func\"").count(), 2, "{t}");
    assert!(
        lines[3].ends_with(r#"[{"type":"i64","value":"0"},{"type":"i64","value":"5050"}]"#),
        "{t}"
    );
    assert!(lines[4].starts_with("rcontinue: position 1491"), "{t}");
    assert!(
        lines[5].ends_with(r#"[{"type":"i64","value":"1"},{"type":"i64","value":"5049"}]"#),
        "{t}"
    );
    assert!(lines[6].starts_with("continue: position 1506"), "{t}");
    assert!(lines[8].starts_with("rstep 3: position 1503"), "{t}");
    assert_eq!(
        transcripts[0], transcripts[1],
        "the same walk on either engine's trace"
    );
    std::fs::remove_dir_all(&work).unwrap();
}

/// Records `wasm` on each engine (`check` looks at the recording and says the line replay
/// must print), replays each trace on both engines, which must exit with `code` too, and
/// runs the `--batch` script on it: the transcripts, per recording engine.
fn on_both_engines(
    work: &std::path::Path,
    wasm: &std::path::Path,
    script: &std::path::Path,
    code: i32,
    mut check: impl FnMut(&str, &std::process::Output) -> &'static str,
) -> Vec<String> {
    let mut transcripts = Vec::new();
    for engine in ["interp", "jit"] {
        let out = format!("{engine}.deja");
        let rec = deja_in(
            work,
            &[
                "record",
                "--engine",
                engine,
                "-o",
                &out,
                wasm.to_str().unwrap(),
            ],
        );
        let expected = check(engine, &rec);
        for on in ["interp", "jit"] {
            let rep = deja_in(work, &["replay", "--engine", on, &out]);
            assert_eq!(rep.status.code(), Some(code), "{}", text(&rep.stderr));
            assert_eq!(
                text(&rep.stderr).trim(),
                expected,
                "recorded on {engine}, replayed on {on}"
            );
        }
        let batch = deja_in(work, &["debug", "--batch", script.to_str().unwrap(), &out]);
        assert_eq!(batch.status.code(), Some(0), "{}", text(&batch.stderr));
        transcripts.push(text(&batch.stdout));
    }
    transcripts
}

/// Exception handling end to end (`examples/wat/exceptions.wat`: a throw caught three frames
/// up, `catch_all_ref` and `throw_ref`, an uncaught exception at the end): recorded on each
/// engine, replayed on both, and walked with `catch throw` both ways. deja exits with 121 for
/// the uncaught exception and names it.
#[test]
fn exceptions_record_replay_and_stop_at_throws_both_ways_on_both_engines() {
    let work = tmp("exceptions");
    let wasm = repo().join("examples/wat/exceptions.wat");
    let script = work.join("script");
    std::fs::write(
        &script,
        "catch throw\nrcontinue\nrcontinue\nwhere\nstack\nrcontinue\ncontinue\nstep\nwhere\nstack\n",
    )
    .unwrap();
    let transcripts = on_both_engines(&work, &wasm, &script, 121, |engine, rec| {
        let run = deja_in(&work, &["run", "--engine", engine, wasm.to_str().unwrap()]);
        assert_eq!(run.status.code(), Some(121), "{}", text(&run.stderr));
        assert_eq!(text(&run.stdout), "15\n72\n");
        assert!(
            text(&run.stderr).contains(
                "uncaught exception $bad_digit (i32 72) at position 598\n  0: func 5 (rethrowing) at pc 0xe9"
            ),
            "{}",
            text(&run.stderr)
        );
        assert_eq!(rec.status.code(), Some(121), "{}", text(&rec.stderr));
        "replay matches: trapped: uncaught exception $bad_digit (i32 72), after 598 steps, 2 host calls"
    });
    let t = &transcripts[0];
    let lines: Vec<&str> = t.lines().collect();
    // The throw that `catch_all_ref` catches right before the `throw_ref` at the end, then
    // the one `safe_sum` catches, five frames deep with the bad digit on the stack.
    assert!(
        lines[1].starts_with("rcontinue: position 597 stop throw"),
        "{t}"
    );
    assert!(
        lines[2].starts_with("rcontinue: position 373 stop throw"),
        "{t}"
    );
    assert!(
        lines[3].contains(r#"[{"func":1,"name":"check","pc":136},{"func":2"#),
        "{t}"
    );
    assert_eq!(lines[3].matches("\"func\"").count(), 5, "{t}");
    assert!(
        lines[4].ends_with(r#"[{"type":"i32","value":"72"}]"#),
        "{t}"
    );
    assert!(
        lines[5].starts_with("rcontinue: position 0 stop start"),
        "{t}"
    );
    assert!(
        lines[6].starts_with("continue: position 373 stop throw"),
        "{t}"
    );
    // One step: the throw and its unwinding, landing in `safe_sum` with the payload.
    assert!(lines[7].starts_with("step: position 374"), "{t}");
    assert!(
        lines[8].contains(r#"[{"func":4,"name":"safe_sum","pc":216},{"func":7"#),
        "{t}"
    );
    assert!(
        lines[9].ends_with(r#"[{"type":"i32","value":"72"}]"#),
        "{t}"
    );
    assert_eq!(
        transcripts[0], transcripts[1],
        "the same walk on either engine's trace"
    );
    std::fs::remove_dir_all(&work).unwrap();
}

/// SIMD end to end (`examples/wat/simd.wat`: a v128 accumulator): recorded on each engine
/// (the JIT compiles it: no note that the interpreter ran it), replayed on both, and walked
/// backward to the lane sum, whose `v128` argument and locals the debugger shows.
#[test]
fn a_simd_program_records_replays_and_shows_v128_locals() {
    let work = tmp("simd");
    let wasm = repo().join("examples/wat/simd.wat");
    let script = work.join("script");
    std::fs::write(
        &script,
        "break lanesum\nrcontinue\nlocals\nrstep 3\nlocals\n",
    )
    .unwrap();
    let transcripts = on_both_engines(&work, &wasm, &script, 0, |_, rec| {
        assert_eq!(rec.status.code(), Some(0), "{}", text(&rec.stderr));
        assert_eq!(text(&rec.stdout), "5050\n");
        assert!(
            !text(&rec.stderr).contains("JIT could not run"),
            "{}",
            text(&rec.stderr)
        );
        "replay matches: returned, after 519 steps, 1 host calls"
    });
    let t = &transcripts[0];
    let lines: Vec<&str> = t.lines().collect();
    assert!(
        lines[1].starts_with("rcontinue: position 404 stop breakpoint"),
        "{t}"
    );
    // 1225 + 1250 + 1275 + 1300 = 5050; every lane view is there for scripts.
    for want in [
        r#""i32x4":["1225","1250","1275","1300"]"#,
        r#""i16x8":["1225","0","1250","0","1275","0","1300","0"]"#,
        r#""type":"v128","value":"i32x4 0x000004c9 0x000004e2 0x000004fb 0x00000514""#,
    ] {
        assert!(lines[2].contains(want), "{want} in {t}");
    }
    for want in [
        r#""i32x4":["101","102","103","104"]"#,
        r#"{"type":"i32","value":"25"}]"#,
    ] {
        assert!(lines[4].contains(want), "{want} in {t}");
    }
    assert_eq!(
        transcripts[0], transcripts[1],
        "the same walk on either engine's trace"
    );
    std::fs::remove_dir_all(&work).unwrap();
}
