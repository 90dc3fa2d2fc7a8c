//! The real `deja debug` in a real terminal (tmux): it opens at the trap, reverse-steps and
//! reverse-finishes, shows the expected locals, and quits cleanly, restoring the terminal.
//!
//! Needs tmux; without it the test says it is skipped, unless `DEJA_REQUIRE_TMUX=1` (as
//! `.ci/run` sets, after installing tmux), which makes a missing tmux a failure.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(args: &[&str]) -> std::process::Output {
    Command::new("tmux").args(args).output().expect("run tmux")
}

fn capture(session: &str) -> String {
    String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", session]).stdout).into_owned()
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

#[test]
fn debug_in_tmux_opens_at_the_trap_and_travels_back() {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(
            std::env::var_os("DEJA_REQUIRE_TMUX").is_none_or(|v| v != "1"),
            "tmux is required but missing"
        );
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let work = std::env::temp_dir().join(format!("deja-tmux-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let wat = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/wat/divide.wat");
    let rec = Command::new(env!("CARGO_BIN_EXE_deja"))
        .args(["record", "-o", "d.deja", wat.to_str().unwrap()])
        .current_dir(&work)
        .output()
        .unwrap();
    assert_eq!(rec.status.code(), Some(134));
    let session = format!("deja-test-{}", std::process::id());
    let cmd = format!("{} debug d.deja", env!("CARGO_BIN_EXE_deja"));
    let out = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "100",
        "-y",
        "30",
        "-c",
        work.to_str().unwrap(),
        &cmd,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = std::panic::catch_unwind(|| {
        // Opens at the trap: the division, with total 16 and count 0.
        let screen = wait_for(&session, "position 63 / 63");
        assert!(screen.contains("integer divide by zero"), "{screen}");
        assert!(screen.contains("code: average"), "{screen}");
        assert!(
            screen.contains("0 i32       16") && screen.contains("1 i32       0"),
            "{screen}"
        );
        assert!(
            screen.contains("▶") && screen.contains("i32.div_u"),
            "{screen}"
        );
        // Reverse step, then reverse finish out to the call site.
        tmux(&["send-keys", "-t", &session, "S"]);
        wait_for(&session, "position 62 / 63");
        tmux(&["send-keys", "-t", &session, "F"]);
        let screen = wait_for(&session, "frames (1)");
        assert!(screen.contains("call $average"), "{screen}");
        // Quit: the program ends and the pane's command is gone.
        tmux(&["send-keys", "-t", &session, "q"]);
        let start = Instant::now();
        while tmux(&["has-session", "-t", &session]).status.success() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "deja did not quit"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let _ = tmux(&["kill-session", "-t", &session]);
    let _ = std::fs::remove_dir_all(&work);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
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
