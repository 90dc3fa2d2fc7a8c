//! The real `deja debug` in a real terminal (tmux), on the bundled trace of the flaky example:
//! it opens at the trap, shows the expected locals and stack, travels back with reverse steps
//! and watchpoints to where the failing value came from, and quits cleanly.
//!
//! Needs tmux; without it the test says it is skipped, unless `DEJA_REQUIRE_TMUX=1` (as
//! `.ci/run` sets, after installing tmux), which makes a missing tmux a failure.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs tmux on the server of `session` alone (`-L`): tests that share one server race, since
/// it exits when its last session ends, also while another test's `new-session` connects.
fn tmux(session: &str, args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .args(["-L", session])
        .args(args)
        .output()
        .expect("run tmux")
}

fn capture(session: &str) -> String {
    String::from_utf8_lossy(&tmux(session, &["capture-pane", "-p", "-t", session]).stdout)
        .into_owned()
}

/// Waits until the screen contains `text`; returns the screen.
fn wait_for(session: &str, text: &str) -> String {
    let start = Instant::now();
    loop {
        let screen = capture(session);
        if screen.contains(text) {
            return screen;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting for {text:?}; screen:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The position in the status line.
fn position(screen: &str) -> u64 {
    let rest = &screen[screen.find("position ").expect("a status line") + 9..];
    rest[..rest.find(' ').unwrap()].parse().unwrap()
}

/// The address in the code pane's "i32.load: 4 bytes at 0x1174c" line, for a load.
fn load_hint(screen: &str) -> Option<String> {
    screen.lines().find_map(|l| {
        let rest = &l[l.find("load")?..];
        let hex = &rest[rest.find(" at 0x")? + 6..];
        let digits: String = hex.chars().take_while(char::is_ascii_hexdigit).collect();
        Some(format!("0x{digits}"))
    })
}

/// A detached 100x30 tmux session running deja in its own empty directory; dropping it (also
/// when a test fails) kills the session and removes the directory.
struct Tmux {
    session: String,
    work: PathBuf,
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = tmux(&self.session, &["kill-session", "-t", &self.session]);
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

impl Tmux {
    /// Starts `deja ARGS` in a new session named after `name`, in a new empty directory
    /// (`prepare` may put files there first). `None` when tmux is missing (and not required):
    /// the test is then skipped and says so.
    fn start(name: &str, args: &str, prepare: impl FnOnce(&std::path::Path)) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(
                std::env::var_os("DEJA_REQUIRE_TMUX").is_none_or(|v| v != "1"),
                "tmux is required but missing"
            );
            eprintln!("SKIPPED: tmux is not installed");
            return None;
        }
        let session = format!("deja-{name}-{}", std::process::id());
        let work = std::env::temp_dir().join(&session);
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).unwrap();
        prepare(&work);
        let t = Tmux { session, work };
        let cmd = format!("{} {args}", env!("CARGO_BIN_EXE_deja"));
        let out = tmux(
            &t.session,
            &[
                "new-session",
                "-d",
                "-s",
                &t.session,
                "-x",
                "100",
                "-y",
                "30",
                "-c",
                t.work.to_str().unwrap(),
                &cmd,
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(t)
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            tmux(&self.session, &["send-keys", "-t", &self.session, k]);
        }
    }

    /// Reverse-steps by instruction until the next instruction is a load; returns its
    /// address.
    fn back_to_a_load(&self) -> String {
        for _ in 0..8 {
            let before = position(&capture(&self.session));
            self.keys(&["I"]);
            let screen = wait_for(&self.session, &format!("position {} ", before - 1));
            if let Some(addr) = load_hint(&screen) {
                return addr;
            }
        }
        panic!("no load within 8 steps back:\n{}", capture(&self.session));
    }

    /// w, Enter (taking the offered range), C: returns the screen at the write.
    fn watch_and_reverse_continue(&self, id: u32, addr: &str) -> String {
        self.keys(&["w"]);
        wait_for(&self.session, &format!("watch ADDR LEN or EXPR: {addr} "));
        self.keys(&["Enter"]);
        wait_for(&self.session, &format!("w{id} {addr}+"));
        self.keys(&["C"]);
        wait_for(&self.session, &format!("watchpoint {id} ("))
    }
}

/// The "done when", on the bundled trace of the flaky example: from the trap, find
/// where the zero divisor came from by reverse stepping and watchpoints, down to the random
/// bytes the host gave the guest; then quit, restoring the terminal.
#[test]
fn debug_in_tmux_finds_where_the_failing_value_came_from() {
    // Run from an empty directory: the source file is found beside the trace.
    let trace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/flaky/trap.deja");
    let Some(t) = Tmux::start(
        "walk",
        &format!("debug {}", trace.to_str().unwrap()),
        |_| {},
    ) else {
        return;
    };
    let session = t.session.clone();
    // Opens at the trap: the division by the volatile `last_quantity`, which is 0.
    let screen = wait_for(&session, "the run ended: trapped: integer divide by zero");
    assert!(
        screen.contains("code: __original_main · flaky.c:"),
        "{screen}"
    );
    assert!(screen.contains("return total / last_quantity"), "{screen}");
    assert!(
        screen.contains("▶") && screen.contains("i32.div_s"),
        "{screen}"
    );
    assert!(
        screen.contains(" 1 i32  0 "),
        "the divisor on the stack:\n{screen}"
    );
    // The help lists the keys used below.
    t.keys(&["?"]);
    wait_for(&session, "keys (Esc closes)");
    // Each line on its own: the terminal may show the popup half drawn for a moment.
    for line in [
        "s / S  step / reverse step",
        "w / W  watch ADDR LEN or EXPR",
        "c / C  continue / reverse continue",
    ] {
        wait_for(&session, line);
    }
    t.keys(&["Escape"]);
    // The load of the divisor; watch it; reverse-continue to its store.
    let divisor = t.back_to_a_load();
    let screen = t.watch_and_reverse_continue(1, &divisor);
    assert!(
        screen.contains(&format!("watchpoint 1 (4 bytes at {divisor}) written")),
        "{screen}"
    );
    // Where the stored value was loaded from: the basket's quantity, stored in main.
    let quantity = t.back_to_a_load();
    let screen = t.watch_and_reverse_continue(2, &quantity);
    assert!(screen.contains("code: __original_main"), "{screen}");
    // The quantity is a random byte modulo 8: watch the byte; the host call wrote it.
    let seed = t.back_to_a_load();
    let screen = t.watch_and_reverse_continue(3, &seed);
    assert!(
        screen.contains(&format!("watchpoint 3 (1 byte at {seed}) written")),
        "{screen}"
    );
    let lines: Vec<&str> = screen.lines().collect();
    let hit = lines
        .iter()
        .position(|l| l.contains("watchpoint 3 written"))
        .expect("the hit in the event list");
    assert!(lines[hit - 1].contains("random_get"), "{screen}");
    // Quit: the program ends and the pane's command is gone.
    t.keys(&["q"]);
    let start = Instant::now();
    while tmux(&session, &["has-session", "-t", &session])
        .status
        .success()
    {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "deja did not quit"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A trace away from its sources finds them with `--source-dir`.
#[test]
fn debug_in_tmux_finds_sources_with_source_dir() {
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/flaky");
    let args = format!("debug --source-dir {} t.deja", examples.to_str().unwrap());
    let Some(t) = Tmux::start("src", &args, |work| {
        std::fs::copy(examples.join("trap.deja"), work.join("t.deja")).unwrap();
    }) else {
        return;
    };
    let screen = wait_for(&t.session, "trapped: integer divide by zero");
    assert!(
        screen.contains("// flaky.c:50  return total / last_quantity;"),
        "{screen}"
    );
}

#[test]
fn debug_without_a_terminal_says_to_use_batch() {
    let out = Command::new(env!("CARGO_BIN_EXE_deja"))
        .args(["debug", "whatever.deja"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("use --batch"));
}

/// A replay that takes more than two seconds shows a progress bar on the terminal (indicatif),
/// and clears it when done; a quick one, or one whose stderr is not a terminal, shows none.
#[test]
fn a_long_replay_shows_a_progress_bar_on_a_terminal() {
    let spin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/wat/loop.wat");
    // Recorded for four seconds: its replay takes about as long.
    let Some(t) = Tmux::start(
        "progress",
        "replay spin.deja; echo replay-done; sleep 60",
        |dir| {
            let rec = Command::new("timeout")
                .args(["-s", "INT", "4", env!("CARGO_BIN_EXE_deja"), "record"])
                .args(["-o", "spin.deja"])
                .arg(&spin)
                .current_dir(dir)
                .output()
                .unwrap();
            assert!(dir.join("spin.deja").exists(), "{rec:?}");
        },
    ) else {
        return;
    };
    let screen = wait_for(&t.session, "deja: replaying [");
    assert!(screen.contains("% position "), "{screen}");
    let screen = wait_for(&t.session, "replay-done");
    assert!(screen.contains("replay matches: interrupted"), "{screen}");
    assert!(!screen.contains("deja: replaying ["), "cleared: {screen}");
    // Not a terminal: nothing but the result.
    let out = Command::new(env!("CARGO_BIN_EXE_deja"))
        .args(["replay", "spin.deja"])
        .current_dir(&t.work)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("replay matches: "), "{err}");
}

/// The C variables in a real terminal: the locals pane shows them with their types, Tab and
/// Enter open a pointer, `p` prints an expression on the status line, and `W` goes back to the
/// write of a variable.
#[test]
fn debug_in_tmux_shows_c_variables_prints_and_goes_back_to_a_write() {
    let trace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/flaky/trap.deja");
    let args = format!("debug {}", trace.to_str().unwrap());
    let Some(t) = Tmux::start("vars", &args, |_| {}) else {
        return;
    };
    let screen = wait_for(&t.session, "C variables, frame 0");
    assert!(screen.contains("▸ basket = 0x000115c0"), "{screen}");
    assert!(screen.contains("lines = <optimized out>"), "{screen}");
    t.keys(&["Tab", "Tab", "Enter"]);
    wait_for(&t.session, "▾ basket = 0x000115c0");
    let screen = wait_for(&t.session, "  ▸ * = {item = 4, quantity = 6}");
    assert!(
        screen.contains("last_quantity = 0  volatile int"),
        "{screen}"
    );
    t.keys(&["p"]);
    wait_for(&t.session, "print (a C expression; /x for hex):");
    t.keys(&["basket[0].quantity", "Enter"]);
    let screen = wait_for(&t.session, "basket[0].quantity = ");
    assert!(!screen.contains("error"), "{screen}");
    t.keys(&["W"]);
    wait_for(&t.session, "back to the last write of EXPR:");
    t.keys(&["last_quantity", "Enter"]);
    let screen = wait_for(&t.session, "position 14690 ");
    assert!(screen.contains("watchpoint 1"), "{screen}");
}

/// Exceptions in the terminal UI: a trace of `examples/wat/exceptions.wat` opens at the
/// uncaught exception, its event list shows the run's throws without anything set, and `B`
/// `throw` (gdb's `catch throw`) makes `C` stop at the last throw before the end.
#[test]
fn debug_in_tmux_lists_throws_and_stops_at_them() {
    let wat = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/wat/exceptions.wat");
    let Some(t) = Tmux::start("throw", "debug e.deja", |work| {
        let out = Command::new(env!("CARGO_BIN_EXE_deja"))
            .args(["record", "-o", "e.deja", wat.to_str().unwrap()])
            .current_dir(work)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(121), "{out:?}");
    }) else {
        return;
    };
    let screen = wait_for(&t.session, "uncaught exception");
    assert_eq!(position(&screen), 598, "{screen}");
    // Both caught throws are events, before the end.
    let screen = wait_for(&t.session, "throw");
    let throws = screen.lines().filter(|l| l.contains("▲")).count();
    assert!(
        throws >= 1,
        "throws in the event list or timeline:\n{screen}"
    );
    t.keys(&["B"]);
    wait_for(&t.session, "break at FILE:LINE or FUNCTION");
    t.keys(&["throw", "Enter"]);
    t.keys(&["C"]);
    let screen = wait_for(&t.session, "position 597 ");
    assert!(
        screen.contains("catchpoint 1: an exception is thrown"),
        "{screen}"
    );
    t.keys(&["q"]);
}
