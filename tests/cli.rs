//! The `deja` binary end to end: outputs, messages and exit codes.

use std::process::{Command, Output};

mod support;

fn deja(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deja"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run deja")
}

fn check(args: &[&str], code: i32, stdout: &str, stderr_contains: &str) {
    let out = deja(args);
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}\nstdout: {so}\nstderr: {se}"
    );
    assert_eq!(so, stdout, "{args:?}");
    assert!(se.contains(stderr_contains), "{args:?}: stderr was {se}");
}

#[test]
fn runs_exports_and_prints_results() {
    check(
        &["run", "--invoke", "fib", "examples/wat/fib.wat", "90"],
        0,
        "2880067194370816120\n",
        "",
    );
    check(
        &[
            "run",
            "--invoke",
            "fib_rec",
            "examples/wat/fib.wat",
            "--",
            "0x14",
        ],
        0,
        "6765\n",
        "",
    );
    check(&["run", "examples/wat/fib.wat"], 0, "", "");
}

#[test]
fn each_failure_has_its_message_and_exit_code() {
    check(
        &["run", "examples/wat/syntax-error.wat"],
        112,
        "",
        "syntax error in WebAssembly text",
    );
    check(
        &["run", "examples/wat/invalid.wat"],
        113,
        "",
        "invalid module at byte offset 0x25: type mismatch",
    );
    check(
        &["run", "--invoke", "div", "examples/wat/trap.wat", "0"],
        134,
        "",
        "wasm trap: integer divide by zero at position 4\n  0: func 0 (inner) at pc 0x28",
    );
    check(
        &["run", "--max-steps", "100000", "examples/wat/loop.wat"],
        115,
        "",
        "step budget exhausted after 100000 steps, in func 0 (spin)",
    );
    check(
        &["run", "examples/wat/recurse.wat"],
        116,
        "",
        "call stack exhausted",
    );
    check(
        &["run", "no/such/file.wasm"],
        111,
        "",
        "cannot read no/such/file.wasm",
    );
    check(
        &["run", "--invoke", "fib", "examples/wat/fib.wat", "x"],
        2,
        "",
        "`x` is not a valid i32",
    );
    check(
        &["run", "--invoke", "fib", "examples/wat/fib.wat"],
        2,
        "",
        "expected 1 arguments, got 0",
    );
    check(
        &["run", "--bogus", "examples/wat/fib.wat"],
        2,
        "",
        "unexpected argument",
    );
}

#[test]
fn unsatisfied_imports_are_named() {
    let dir = support::scratch("cli");
    let path = dir.join("imports.wat");
    std::fs::write(
        &path,
        r#"(module (import "env" "clock" (func (result i64))) (func (export "_start")))"#,
    )
    .unwrap();
    check(
        &["run", path.to_str().unwrap()],
        114,
        "",
        "unknown import: env::clock (func)",
    );
    let gc = dir.join("gc.wat");
    std::fs::write(&gc, "(module (type (struct (field i32))))").unwrap();
    check(
        &["run", gc.to_str().unwrap()],
        113,
        "",
        "garbage collection proposal",
    );
    // SIMD runs (on the interpreter, whichever engine is asked for).
    let simd = dir.join("simd.wat");
    std::fs::write(
        &simd,
        "(module (func (export \"f\") (result i32) (i32x4.extract_lane 2 (i32x4.add \
         (v128.const i32x4 1 2 3 4) (v128.const i32x4 10 20 30 40)))))",
    )
    .unwrap();
    check(
        &["run", "--invoke", "f", simd.to_str().unwrap()],
        0,
        "33\n",
        "",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn broken_pipe_is_quiet() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_deja"))
        .args(["run", "--invoke", "fib", "examples/wat/fib.wat", "10"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn wasi_guests_get_args_dirs_and_their_exit_code() {
    let out = deja(&[
        "run",
        "--dir",
        "examples::.",
        "examples/wat/cat.wat",
        "wat/cat.wat",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        out.stdout,
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/wat/cat.wat")).unwrap()
    );
    // The guest's own exit codes pass through: 2 without an argument, 100 + errno otherwise.
    check(&["run", "examples/wat/cat.wat"], 2, "", "");
    check(
        &[
            "run",
            "--dir",
            "examples::.",
            "examples/wat/cat.wat",
            "missing",
        ],
        144,
        "",
        "",
    );
    check(
        &[
            "run",
            "--dir",
            "examples::.",
            "examples/wat/cat.wat",
            "../README.md",
        ],
        163,
        "",
        "",
    );
    check(
        &[
            "run",
            "--dir-ro",
            "examples::.",
            "examples/wat/cat.wat",
            "/etc/passwd",
        ],
        163,
        "",
        "",
    );
    check(
        &["run", "--dir", "no/such/dir", "examples/wat/cat.wat", "x"],
        2,
        "",
        "--dir no/such/dir: no/such/dir is not a directory",
    );
}

#[test]
fn environment_is_exactly_what_was_given() {
    let out = deja(&[
        "run",
        "--env",
        "A=1",
        "--env",
        "B=two=2",
        "examples/wat/printenv.wat",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "A=1\nB=two=2\n");
    let out = Command::new(env!("CARGO_BIN_EXE_deja"))
        .args([
            "run",
            "--inherit-env",
            "--env",
            "ZZ_LAST=1",
            "examples/wat/printenv.wat",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DEJA_TEST_MARKER", "present")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("DEJA_TEST_MARKER=present\n"), "{text}");
    assert!(text.ends_with("ZZ_LAST=1\n"), "{text}");
}

/// A recording's header lists every variable the guest saw, inherited ones included, with
/// `--env` replacing an inherited variable of the same name (issue: `info` used to omit them).
#[test]
fn inherited_environment_is_recorded_in_the_trace() {
    let dir = support::scratch("inherit-env");
    let trace = dir.join("env.deja");
    let out = Command::new(env!("CARGO_BIN_EXE_deja"))
        .args([
            "record",
            "--force",
            "--inherit-env",
            "--env",
            "DEJA_TEST_OVERRIDDEN=mine",
            "-o",
            trace.to_str().unwrap(),
            "examples/wat/printenv.wat",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DEJA_TEST_MARKER", "present")
        .env("DEJA_TEST_OVERRIDDEN", "inherited")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        printed.matches("DEJA_TEST_OVERRIDDEN=").count(),
        1,
        "{printed}"
    );
    assert!(printed.contains("DEJA_TEST_OVERRIDDEN=mine\n"), "{printed}");
    let info = deja(&["info", "--json", trace.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&info.stdout).expect("info --json");
    let env = v.to_string();
    assert!(env.contains("DEJA_TEST_MARKER"), "{env}");
    assert!(
        env.contains("mine") && !env.contains("\"inherited\""),
        "{env}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--max-call-depth 0` leaves no room for the entry function: a trap at position 0, reported
/// as any other trap, and a complete trace that replays to it (this used to panic, exit 101,
/// and leave a truncated trace).
#[test]
fn a_call_depth_limit_of_zero_is_a_trap_not_a_panic() {
    check(
        &["run", "--max-call-depth", "0", "examples/wat/recurse.wat"],
        116,
        "",
        "call stack exhausted at position 0",
    );
    let dir = support::scratch("depth0");
    let trace = dir.join("depth0.deja");
    let trace = trace.to_str().unwrap();
    let out = deja(&[
        "record",
        "--force",
        "--max-call-depth",
        "0",
        "-o",
        trace,
        "examples/wat/recurse.wat",
    ]);
    assert_eq!(out.status.code(), Some(116), "{out:?}");
    let out = deja(&["replay", trace]);
    let se = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(116), "{se}");
    assert!(!se.contains("truncated"), "{se}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A guest's exit code that no process can exit with (above 255) is a failure, never a
/// success: `proc_exit(256)` used to exit 0 (`256 & 0xff`), so `--until-failure` took the run
/// for a passing one.
#[test]
fn exit_codes_above_255_are_failures() {
    let dir = support::scratch("exit256");
    let wat = dir.join("exit.wat");
    std::fs::write(
        &wat,
        r#"(module
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (func (export "_start") (call $exit (i32.const 256))))"#,
    )
    .unwrap();
    let wat = wat.to_str().unwrap();
    check(&["run", wat], 1, "", "exited with code 256");
    let trace = dir.join("exit.deja");
    let trace = trace.to_str().unwrap();
    let out = deja(&[
        "record",
        "--force",
        "-o",
        trace,
        "--until-failure",
        "3",
        wat,
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        std::path::Path::new(trace).exists(),
        "the failing run is kept"
    );
    let out = deja(&["replay", trace]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Files that cannot be read or written are named, and exit 111: a missing trace as a missing
/// module does, an output file in a directory that does not exist.
#[test]
fn unreadable_and_unwritable_files_are_named_and_exit_111() {
    check(
        &["replay", "/nonexistent/trace.deja"],
        111,
        "",
        "/nonexistent/trace.deja",
    );
    check(
        &["info", "/nonexistent/trace.deja"],
        111,
        "",
        "/nonexistent/trace.deja",
    );
    check(
        &[
            "record",
            "-o",
            "/nonexistent/x.deja",
            "examples/wat/fib.wat",
        ],
        111,
        "",
        "cannot create /nonexistent/x.deja",
    );
}

/// `--batch` exits 1 when a command failed, after running all of them.
#[test]
fn batch_exits_non_zero_when_a_command_fails() {
    let dir = support::scratch("batchfail");
    let script = dir.join("script");
    std::fs::write(&script, "where\nbogus\nrstep\n").unwrap();
    let out = deja(&[
        "debug",
        "--batch",
        script.to_str().unwrap(),
        "examples/flaky/trap.deja",
    ]);
    let so = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{so}");
    assert_eq!(so.lines().count(), 3, "every command still ran: {so}");
    std::fs::write(&script, "where\nrstep\n").unwrap();
    let out = deja(&[
        "debug",
        "--batch",
        script.to_str().unwrap(),
        "examples/flaky/trap.deja",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A trace given to `run` and a module given to `replay` are named for what they are, with the
/// command that takes them (a trace used to be reported as a WebAssembly text syntax error).
#[test]
fn a_trace_for_a_module_and_a_module_for_a_trace_are_named() {
    check(
        &["run", "examples/flaky/trap.deja"],
        2,
        "",
        "examples/flaky/trap.deja is a deja trace, not a module: replay it with `deja replay",
    );
    check(
        &["record", "examples/flaky/trap.deja"],
        2,
        "",
        "is a deja trace, not a module",
    );
    check(
        &["replay", "examples/wat/fib.wat"],
        119,
        "",
        "it is a WebAssembly module: run it with `deja run examples/wat/fib.wat`",
    );
}

/// Human output has no Rust debug formatting: outcomes, values and backtraces read as
/// sentences (`replay` used to print `Trap { code: 6, message: Some(..) }`, `dump` `I32(3)`
/// and `BacktraceFrame { .. }`).
#[test]
fn replay_and_dump_print_for_people() {
    let out = deja(&["replay", "examples/flaky/trap.deja"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(134), "{err}");
    assert!(
        err.starts_with("replay matches: trapped: integer divide by zero, after "),
        "{err}"
    );
    let out = deja(&["dump", "examples/flaky/trap.deja"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("call wasi_snapshot_preview1::fd_prestat_get(i32 3, i32 71496) -> (i32 0), wrote 8B@0x11748"),
        "{text}"
    );
    assert!(
        text.contains(
            "event trap: integer divide by zero\n    at __original_main (func 15) at pc 0x6e3, flaky.c:50"
        ),
        "{text}"
    );
    assert!(
        text.contains("end: trapped: integer divide by zero"),
        "{text}"
    );
    for debug in ["I32(", "Returned", "BacktraceFrame", "Some(", "Trap {"] {
        assert!(!text.contains(debug), "{debug} in {text}");
    }
}

/// `--batch` takes `goto N%` as the TUI's `g` does, has `help`, says when `goto` went past the
/// end, and names the range when a host call does not exist (it said "the trace is
/// inconsistent").
#[test]
fn batch_goto_percent_help_and_clear_limits() {
    let dir = support::scratch("batchgoto");
    let script = dir.join("script");
    std::fs::write(
        &script,
        "goto 50%\nhelp\ngoto 99999999\ngoto hostcall 99\ngoto 101%\n",
    )
    .unwrap();
    let out = deja(&[
        "debug",
        "--batch",
        script.to_str().unwrap(),
        "examples/flaky/trap.deja",
    ]);
    let so = String::from_utf8_lossy(&out.stdout);
    // The trace runs 14693 steps: half of it, rounded.
    assert!(so.contains("goto 50%: position 7347"), "{so}");
    assert!(so.contains("help:\n  step [N] / rstep [N]"), "{so}");
    assert!(
        so.contains("past the end of the run; stopped at the end (14693)"),
        "{so}"
    );
    assert!(
        so.contains("goto hostcall 99: error: no host call 99: the run makes 10 (0 to 9)"),
        "{so}"
    );
    assert!(so.contains("goto 101%: error:"), "{so}");
    assert_eq!(out.status.code(), Some(1), "two commands failed: {so}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `info` in words, not Rust's debug format: the date in RFC 3339, arguments as a shell
/// would read them back (long ones cut, with their length), `(none)` for empty lists.
#[test]
fn info_shows_dates_arguments_and_lists_in_words() {
    let dir = support::scratch("infowords");
    let long = "x".repeat(100);
    let printenv = support::repo().join("examples/wat/printenv.wat");
    let rec = support::deja_in(
        &dir,
        &[
            "record",
            "-o",
            "p.deja",
            "--env",
            "GREETING=hello world",
            printenv.to_str().unwrap(),
            "--",
            "short",
            "with space",
            &long,
        ],
    );
    assert_eq!(rec.status.code(), Some(0), "{}", support::text(&rec.stderr));
    let out = support::deja_in(&dir, &["info", "p.deja"]);
    let info = support::text(&out.stdout);
    let line = |key: &str| {
        info.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("{key} in {info}"))
            .to_string()
    };
    let recorded = line("recorded by:");
    let re = regex::Regex::new(r" at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").unwrap();
    assert!(re.is_match(&recorded), "{recorded}");
    let args = line("args:");
    assert!(args.contains(" short 'with space' "), "{args}");
    assert!(args.contains("…(100 bytes)"), "{args}");
    assert!(!args.contains(&long), "{args}");
    assert!(line("env:").contains("'GREETING=hello world'"), "{info}");
    assert_eq!(line("dirs:"), "dirs:        (none)");
    assert!(!info.contains("[\""), "no Rust debug output: {info}");
}

/// `dump` backtraces name functions and, with DWARF, source lines.
#[test]
fn dump_backtraces_have_names_and_lines() {
    let out = support::deja_in(&support::repo(), &["dump", "examples/flaky/trap.deja"]);
    let text = support::text(&out.stdout);
    assert!(
        text.contains("    at __original_main (func 15) at pc 0x6e3, flaky.c:50"),
        "{text}"
    );
    assert!(!text.contains("BacktraceFrame"), "{text}");
}

/// Sends signal `name` (`INT`, `TERM`) to process `pid` (the shell's `kill`, always there).
fn signal(pid: u32, name: &str) -> std::process::ExitStatus {
    Command::new("sh")
        .args(["-c", &format!("kill -{name} {pid}")])
        .status()
        .expect("sh")
}

/// Sends SIGINT to process `pid`.
fn sigint(pid: u32) -> std::process::ExitStatus {
    signal(pid, "INT")
}

/// Starts `deja record` of the endless loop example on `engine` into `dir/name`.
fn record_spin(dir: &std::path::Path, engine: &str, name: &str) -> std::process::Child {
    let spin = support::repo().join("examples/wat/loop.wat");
    Command::new(env!("CARGO_BIN_EXE_deja"))
        .args(["record", "--force", "--engine", engine, "-o", name])
        .arg(&spin)
        .current_dir(dir)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start deja")
}

/// Checks that `trace`, interrupted at position `at`, replays on `engine` to there and exits
/// with `code`, as its recording did.
fn replays_interrupted(dir: &std::path::Path, engine: &str, trace: &str, at: u64, code: i32) {
    let replay = support::deja_in(dir, &["replay", "--engine", engine, trace]);
    let text = support::text(&replay.stderr);
    assert!(
        text.contains(&format!(
            "replay matches: interrupted by a signal, after {at} steps"
        )),
        "{engine}: {text}"
    );
    assert_eq!(
        replay.status.code(),
        Some(code),
        "exits as the recording did"
    );
}

/// SIGTERM, like SIGINT, ends a recording cleanly at an exact position; the trace says which
/// signal it was (format 1.3), so that `info` names it and the replay exits 143 as `record` did.
#[test]
fn sigterm_ends_a_recording_and_its_replay_exits_as_the_recording_did() {
    let dir = support::scratch("sigterm");
    let mut child = record_spin(&dir, "jit", "term.deja");
    std::thread::sleep(std::time::Duration::from_millis(1000));
    assert!(signal(child.id(), "TERM").success());
    let status = wait_for(&mut child, 30);
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(143), "{err}");
    let at = number_after(&err, "SIGTERM at position ");
    let info = support::deja_in(&dir, &["info", "term.deja"]);
    let info = support::text(&info.stdout);
    assert!(
        info.contains(&format!("interrupted at position {at} (by SIGTERM)")),
        "{info}"
    );
    replays_interrupted(&dir, "jit", "term.deja", at, 143);
}

/// Waits for `child` at most `secs` seconds.
fn wait_for(child: &mut std::process::Child, secs: u64) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("deja did not stop within {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The first number after `key` in `text`.
fn number_after(text: &str, key: &str) -> u64 {
    let rest = &text[text
        .find(key)
        .unwrap_or_else(|| panic!("no {key:?} in {text}"))
        + key.len()..];
    rest.chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after {key:?} in {text}"))
}

/// A guest that computes forever without a host call: SIGINT ends the recording with an
/// interruption at an exact position (exit 130) and the trace replays to there; SIGKILL leaves
/// a truncated trace that knows a recent position from the progress records, and its replay
/// stops there instead of running forever. On both engines (the JIT pauses for progress
/// without leaving its code).
#[test]
fn sigint_ends_a_recording_cleanly_and_sigkill_keeps_a_recent_position() {
    let dir = support::scratch("signals");
    for engine in ["interp", "jit"] {
        let spawn = |name: &str| record_spin(&dir, engine, name);
        let mut child = spawn("int.deja");
        std::thread::sleep(std::time::Duration::from_millis(1000));
        let kill = sigint(child.id());
        assert!(kill.success());
        let status = wait_for(&mut child, 30);
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(130), "{engine}: {err}");
        let at = number_after(&err, "SIGINT at position ");
        assert!(at > 0, "{err}");
        let info = support::deja_in(&dir, &["info", "int.deja"]);
        let info = support::text(&info.stdout);
        assert!(
            info.contains(&format!("interrupted at position {at} (by a signal)")),
            "{engine}: {info}"
        );
        replays_interrupted(&dir, engine, "int.deja", at, 130);

        let mut child = spawn("kill.deja");
        std::thread::sleep(std::time::Duration::from_millis(1000));
        child.kill().expect("SIGKILL");
        let status = wait_for(&mut child, 30);
        assert_eq!(status.code(), None, "killed by a signal");
        let info = support::deja_in(&dir, &["info", "kill.deja"]);
        let info = support::text(&info.stdout);
        let last = number_after(&info, "the last recorded position is ");
        assert!(last > 0, "{engine}: {info}");
        let mut replay = Command::new(env!("CARGO_BIN_EXE_deja"))
            .args(["replay", "--engine", engine, "kill.deja"])
            .current_dir(&dir)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start deja");
        let status = wait_for(&mut replay, 60);
        let mut err = String::new();
        std::io::Read::read_to_string(&mut replay.stderr.take().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(120), "{engine}: {err}");
        assert!(
            err.contains(&format!("up to position {last}")),
            "{engine}: {err}"
        );
        if engine == "jit" {
            // Sessions replay on the interpreter: the JIT's run is too long for a quick test.
            continue;
        }
        std::fs::write(dir.join("script"), "goto end\nwhere\n").unwrap();
        let batch = support::deja_in(&dir, &["debug", "--batch", "script", "kill.deja"]);
        let out = support::text(&batch.stdout);
        assert!(
            out.contains(&format!("goto end: position {last} stop end")),
            "{engine}: {out}"
        );
        assert!(out.contains("\"name\":\"spin\""), "{engine}: {out}");
    }
}

/// Ctrl-C (SIGINT) during a long `--batch` movement cancels it cleanly: its result line says
/// where it stopped (`stop cancelled`), the rest of the script does not run, and deja exits 130.
#[test]
fn sigint_cancels_a_long_batch_movement() {
    use std::io::BufRead;
    let dir = support::scratch("batch-sigint");
    let spin = support::repo().join("examples/wat/loop.wat");
    let rec = support::deja_in(
        &dir,
        &[
            "record",
            "--engine",
            "jit",
            "--max-steps",
            "1500000000",
            "-o",
            "spin.deja",
            spin.to_str().unwrap(),
        ],
    );
    assert_eq!(
        rec.status.code(),
        Some(115),
        "{}",
        support::text(&rec.stderr)
    );
    std::fs::write(dir.join("script"), "goto start\ncontinue\nwhere\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_deja"))
        .args(["debug", "--batch", "script", "spin.deja"])
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start deja");
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a line").unwrap();
    assert_eq!(first, "goto start: position 0 stop start");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let kill = sigint(child.id());
    assert!(kill.success());
    let status = wait_for(&mut child, 60);
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{rest:?} {err}");
    assert_eq!(
        rest.len(),
        1,
        "the script stops after the cancelled movement: {rest:?}"
    );
    assert!(rest[0].ends_with("stop cancelled"), "{rest:?}");
    let at = number_after(&rest[0], "continue: position ");
    assert!(at > 0 && at < 1_500_000_000, "{rest:?}");
    assert!(err.contains("SIGINT: the batch stopped"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `debug --json` without `--batch` says what `--json` is for (clap printed a usage line that
/// read as if `--json` took a file), and `record --help` does not mention `run --invoke`.
#[test]
fn json_without_batch_and_record_help_say_what_they_mean() {
    check(
        &["debug", "--json", "examples/flaky/trap.deja"],
        2,
        "",
        "error: --json formats the results of --batch; add --batch FILE",
    );
    let help = deja(&["record", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    assert_eq!(help.status.code(), Some(0));
    assert!(!text.contains("invoke"), "{text}");
    assert!(text.contains("the guest's arguments"), "{text}");
}

/// Arguments that are not UTF-8: a module path works (paths are bytes); a guest argument, an
/// `--env` value or a `--dir` name is refused with a message naming it (clap said only
/// "invalid UTF-8 was detected in one or more arguments", or deja panicked).
#[test]
fn non_utf8_arguments_work_as_paths_and_are_refused_by_name_as_text() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = support::scratch("nonutf8");
    let module = dir.join(OsStr::from_bytes(b"f\xffib.wat"));
    std::fs::copy(support::repo().join("examples/wat/fib.wat"), &module).unwrap();
    let run = |args: &[&OsStr]| {
        Command::new(env!("CARGO_BIN_EXE_deja"))
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let out = run(&[
        OsStr::new("run"),
        OsStr::new("--invoke"),
        OsStr::new("fib"),
        module.as_os_str(),
        OsStr::new("10"),
    ]);
    assert_eq!(support::text(&out.stdout), "55\n", "{out:?}");
    let printenv = support::repo().join("examples/wat/printenv.wat");
    let bad = OsStr::from_bytes(b"a\xffb");
    let out = run(&[
        OsStr::new("record"),
        printenv.as_os_str(),
        OsStr::new("ok"),
        bad,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        support::text(&out.stderr).contains("guest argument 2 (`a\u{fffd}b`) is not valid UTF-8"),
        "{}",
        support::text(&out.stderr)
    );
    let env = OsStr::from_bytes(b"K=\xfe");
    let out = run(&[
        OsStr::new("run"),
        OsStr::new("--env"),
        env,
        printenv.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = support::text(&out.stderr);
    assert!(
        err.contains("'--env <KEY=VALUE>'") && err.contains("not valid UTF-8"),
        "{err}"
    );
    let d = OsStr::from_bytes(b"/tmp/\xfe");
    let out = run(&[
        OsStr::new("run"),
        OsStr::new("--dir"),
        d,
        printenv.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = support::text(&out.stderr);
    assert!(
        err.contains("'--dir <HOST[::GUEST]>'") && err.contains("not valid UTF-8"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `timeout -s INT` signals its child and then its whole process group: the same interruption
/// arrives twice at once, and it still ends the recording cleanly (it used to count as the
/// second Ctrl-C that exits at once, leaving a truncated trace).
#[test]
fn a_doubled_sigint_from_timeout_still_finishes_the_trace() {
    let dir = support::scratch("timeout-int");
    let spin = support::repo().join("examples/wat/loop.wat");
    let out = Command::new("timeout")
        .args(["--preserve-status", "-s", "INT", "1"])
        .arg(env!("CARGO_BIN_EXE_deja"))
        .args(["record", "-o", "t.deja"])
        .arg(&spin)
        .current_dir(&dir)
        .output()
        .expect("timeout");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        support::text(&out.stderr)
    );
    let info = support::deja_in(&dir, &["info", "t.deja"]);
    let info = support::text(&info.stdout);
    assert!(info.contains("(by a signal)"), "{info}");
    assert!(!info.contains("TRUNCATED"), "{info}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Where the host refuses the JIT's guard reservation (here: `ulimit -v`), the interpreter runs
/// the guest with the same result, and deja says why once.
#[test]
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn without_address_space_for_the_guard_the_interpreter_runs_and_says_so() {
    let module = std::env::temp_dir().join(format!("deja-guard-{}.wat", std::process::id()));
    std::fs::write(
        &module,
        r#"(module (memory 1) (func (export "f") (result i32)
             (i32.store (i32.const 8) (i32.const 41))
             (i32.add (i32.load (i32.const 8)) (i32.const 1))))"#,
    )
    .unwrap();
    let run = |limit: &str| {
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{limit} exec \"$0\" run --engine jit --invoke f \"$1\"",
            ))
            .arg(env!("CARGO_BIN_EXE_deja"))
            .arg(&module)
            .output()
            .expect("run deja through sh")
    };
    let plain = run("");
    assert_eq!(String::from_utf8_lossy(&plain.stdout), "42\n");
    assert_eq!(String::from_utf8_lossy(&plain.stderr), "");
    let limited = run("ulimit -v 3000000;");
    let stderr = String::from_utf8_lossy(&limited.stderr);
    assert_eq!(limited.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&limited.stdout), "42\n");
    assert!(
        stderr.contains("the JIT could not run this module, so the interpreter ran it")
            && stderr.contains("address space"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    std::fs::remove_file(&module).unwrap();
}
