//! `deja serve` with the real LLDB: Debian's `lldb-22` with its Wasm plugin, in batch mode
//! (`lldb-22 -b -o …`), on the bundled C example `examples/serve/bank.wasm` (clang -O0 -g).
//! LLDB reads the module and its DWARF from the server, so these check source-level debugging
//! end to end: backtraces with lines, C variables, struct fields and globals, a watchpoint
//! followed back to the last write, a source-line breakpoint reached backward, forward
//! movement and steps after that, both ends of the trace, an exit, and a second client.
//!
//! Needs lldb-22; without it the tests say they are skipped, unless `DEJA_REQUIRE_LLDB=1` (as
//! `.ci/run` sets, after installing it), which makes a missing lldb-22 a failure.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use support::{deja_in, repo, scratch, text};

/// One LLDB at a time: they are heavy, and the machine may have two cores.
static LLDB: Mutex<()> = Mutex::new(());

fn lldb_available() -> bool {
    if Command::new("lldb-22").arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("DEJA_REQUIRE_LLDB").is_none_or(|v| v != "1"),
        "lldb-22 is required but missing"
    );
    eprintln!("SKIPPED: lldb-22 is not installed (apt-get install lldb-22)");
    false
}

/// The trace of the bundled example, recorded once per test run: it traps (divide by zero).
fn bank_trace() -> &'static Path {
    static TRACE: OnceLock<PathBuf> = OnceLock::new();
    TRACE.get_or_init(|| {
        let dir = scratch("serve");
        let trace = dir.join("bank.deja");
        let out = deja_in(
            &repo().join("examples/serve"),
            &["record", "-o", trace.to_str().unwrap(), "bank.wasm"],
        );
        assert_eq!(out.status.code(), Some(134), "{}", text(&out.stderr));
        trace
    })
}

/// A `deja serve` process on a free port.
struct Served {
    child: Child,
    addr: String,
}

impl Served {
    fn start(trace: &Path, args: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_deja"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .arg(trace)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start deja serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        assert!(first.starts_with("deja: serving "), "{first}");
        let connect = lines.next().unwrap().unwrap();
        // The exact command line to connect with.
        let prefix = "deja: connect with: lldb-22 -o 'process connect --plugin wasm connect://";
        let addr = connect
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix('\''))
            .unwrap_or_else(|| panic!("{connect}"))
            .to_string();
        Served { child, addr }
    }

    /// Runs LLDB in batch mode: connect, then `commands`; returns each command's output.
    fn lldb(&self, commands: &[&str]) -> Transcript {
        let mut cmd = Command::new("lldb-22");
        cmd.args(["-b", "-x", "-o"]).arg(format!(
            "process connect --plugin wasm connect://{}",
            self.addr
        ));
        for c in commands {
            cmd.args(["-o", c]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run lldb-22");
        let deadline = Instant::now() + Duration::from_secs(120);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("lldb-22 did not finish: {:?}", child.wait_with_output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        Transcript::parse(&format!("{}{}", text(&out.stdout), text(&out.stderr)))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// LLDB's output, by command (`(lldb) COMMAND` lines start each).
struct Transcript {
    all: String,
    sections: Vec<(String, String)>,
}

impl Transcript {
    fn parse(all: &str) -> Transcript {
        let mut sections: Vec<(String, String)> = Vec::new();
        for line in all.lines() {
            if let Some(cmd) = line.strip_prefix("(lldb) ") {
                sections.push((cmd.to_string(), String::new()));
            } else if let Some((_, out)) = sections.last_mut() {
                out.push_str(line);
                out.push('\n');
            }
        }
        Transcript {
            all: all.to_string(),
            sections,
        }
    }

    /// The output of the `n`th (0-based) run of `cmd` (`process connect`: the connection).
    fn of(&self, cmd: &str, n: usize) -> &str {
        self.sections
            .iter()
            .filter(|(c, _)| c == cmd || (cmd == "process connect" && c.starts_with(cmd)))
            .nth(n)
            .map(|(_, o)| o.as_str())
            .unwrap_or_else(|| panic!("no output {n} of {cmd:?} in:\n{}", self.all))
    }

    fn expect(&self, cmd: &str, n: usize, wanted: &[&str]) {
        let out = self.of(cmd, n);
        for w in wanted {
            assert!(
                out.contains(w),
                "`{cmd}` (#{n}) should show {w:?}; it showed:\n{out}\nwhole session:\n{}",
                self.all
            );
        }
    }
}

#[test]
fn backtrace_variables_struct_fields_and_globals_at_the_failure() {
    let _one = LLDB.lock().unwrap_or_else(|e| e.into_inner());
    if !lldb_available() {
        return;
    }
    let served = Served::start(bank_trace(), &["--once"]);
    let t = served.lldb(&[
        "bt",
        "frame variable",
        "p acct->deposits",
        "p *acct",
        "up",
        "frame variable i total",
        "p accounts[1].balance",
        "p last_touched",
    ]);
    // Attached at the trap, which LLDB shows as the stop reason.
    t.expect(
        "process connect",
        0,
        &[
            "stop reason = wasm trap: integer divide by zero",
            "bank.c:34",
        ],
    );
    t.expect(
        "bt",
        0,
        &[
            "frame #0: 0x4000000000000548 bank.wasm`average_deposit(acct=0x00000da8) at bank.c:34:26",
            "frame #1: 0x40000000000002f3 bank.wasm`main at bank.c:45:23",
            "bank.wasm`_start",
        ],
    );
    t.expect(
        "frame variable",
        0,
        &["(const account *) acct = 0x00000da8"],
    );
    t.expect("p acct->deposits", 0, &["(const int) 0"]);
    t.expect(
        "p *acct",
        0,
        &["name = \"carol\"", "balance = 30", "deposits = 0"],
    );
    t.expect("up", 0, &["frame #1", "main at bank.c:45"]);
    // The program printed alice's average (32) and bob's (16) before it trapped on carol's.
    t.expect(
        "frame variable i total",
        0,
        &["(int) i = 2", "(int) total = 48"],
    );
    t.expect("p accounts[1].balance", 0, &["(int) 65"]);
    t.expect("p last_touched", 0, &["(int) 1"]);
}

#[test]
fn a_watchpoint_leads_back_to_the_last_write() {
    let _one = LLDB.lock().unwrap_or_else(|e| e.into_inner());
    if !lldb_available() {
        return;
    }
    let served = Served::start(bank_trace(), &["--once"]);
    let t = served.lldb(&[
        "watchpoint set variable last_touched",
        "process continue --reverse",
        "bt",
        "frame variable",
        "p last_touched",
        "p acct->balance",
        "process continue --reverse",
        "frame variable",
        "p last_touched",
        "p acct->balance",
    ]);
    // The last write: bob's deposit in the third round, stopped on the assignment with the
    // old value (0, alice's) still in memory, as gdb with rr shows a write found backward.
    t.expect(
        "process continue --reverse",
        0,
        &[
            "stop reason = watchpoint 1",
            "old value: 1",
            "new value: 0",
            "-> 25",
        ],
    );
    t.expect(
        "bt",
        0,
        &[
            "frame #0: 0x400000000000048d bank.wasm`deposit(acct=0x00000d9c, amount=5) at bank.c:25:18",
            "frame #1: 0x4000000000000246 bank.wasm`main at bank.c:40:9",
        ],
    );
    t.expect("frame variable", 0, &["(int) amount = 5"]);
    t.expect("p last_touched", 0, &["(int) 0"]);
    t.expect("p acct->balance", 0, &["(int) 65"]);
    // The write before it: alice's deposit of 30 in the same round.
    t.expect(
        "process continue --reverse",
        1,
        &["stop reason = watchpoint 1", "-> 25"],
    );
    t.expect(
        "frame variable",
        1,
        &["(account *) acct = 0x00000d90", "(int) amount = 30"],
    );
    t.expect("p last_touched", 1, &["(int) 1"]);
    t.expect("p acct->balance", 1, &["(int) 160"]);
}

#[test]
fn a_line_breakpoint_reached_backward_then_forward_steps_and_the_trap() {
    let _one = LLDB.lock().unwrap_or_else(|e| e.into_inner());
    if !lldb_available() {
        return;
    }
    let served = Served::start(bank_trace(), &["--once"]);
    // LLDB keeps the direction of the last `process continue`: `-F` goes forward again.
    let t = served.lldb(&[
        "breakpoint set -f bank.c -l 23",
        "process continue --reverse",
        "p *acct",
        "process continue --reverse",
        "p *acct",
        "process continue -F",
        "p *acct",
        "next",
        "next",
        "step",
        "finish",
        "breakpoint delete 1",
        "process continue",
    ]);
    t.expect(
        "breakpoint set -f bank.c -l 23",
        0,
        &["bank.c:23", "address = 0x4000000000000421"],
    );
    // Backward from the trap: bob's deposit of the third round (his balance 60 before it),
    // then alice's (130 before hers).
    t.expect(
        "process continue --reverse",
        0,
        &[
            "stop reason = breakpoint 1.1",
            "deposit(acct=0x00000d9c, amount=5)",
            "-> 23",
        ],
    );
    t.expect(
        "p *acct",
        0,
        &["name = \"bob\"", "balance = 60", "deposits = 3"],
    );
    t.expect(
        "process continue --reverse",
        1,
        &[
            "stop reason = breakpoint 1.1",
            "deposit(acct=0x00000d90, amount=30)",
        ],
    );
    t.expect("p *acct", 1, &["name = \"alice\"", "balance = 130"]);
    // Forward again: the next hit is bob's deposit, where the first reverse continue was.
    t.expect("process continue -F", 0, &["stop reason = breakpoint 1.1"]);
    t.expect("p *acct", 2, &["name = \"bob\"", "balance = 60"]);
    t.expect("next", 0, &["stop reason = step over", "-> 24"]);
    t.expect("next", 1, &["-> 25"]);
    t.expect("step", 0, &["-> 26"]);
    t.expect(
        "finish",
        0,
        &["stop reason = step out", "main at bank.c:38"],
    );
    // With the breakpoint gone, forward runs into the trap.
    t.expect(
        "process continue",
        0,
        &[
            "stop reason = wasm trap: integer divide by zero",
            "average_deposit",
            "bank.c:34",
        ],
    );
}

#[test]
fn a_function_breakpoint_by_name() {
    let _one = LLDB.lock().unwrap_or_else(|e| e.into_inner());
    if !lldb_available() {
        return;
    }
    let served = Served::start(bank_trace(), &["--once"]);
    let t = served.lldb(&[
        "breakpoint set -n average_deposit",
        "process continue --reverse",
        "p *acct",
        "process continue --reverse",
        "p *acct",
    ]);
    // From the trap (inside carol's call) back to the entry of that call, then bob's.
    t.expect(
        "process continue --reverse",
        0,
        &[
            "stop reason = breakpoint 1.1",
            "average_deposit(acct=0x00000da8)",
        ],
    );
    t.expect("p *acct", 0, &["name = \"carol\""]);
    t.expect(
        "process continue --reverse",
        1,
        &["stop reason = breakpoint 1.1"],
    );
    t.expect("p *acct", 1, &["name = \"bob\"", "balance = 65"]);
}

#[test]
fn the_ends_of_the_trace_are_history_boundaries() {
    let _one = LLDB.lock().unwrap_or_else(|e| e.into_inner());
    if !lldb_available() {
        return;
    }
    // Backward from the start of the run.
    let served = Served::start(bank_trace(), &["--at", "start", "--once"]);
    let t = served.lldb(&["process continue --reverse"]);
    t.expect(
        "process continue --reverse",
        0,
        &["stop reason = history boundary"],
    );
    drop(served);
    // Forward from the trap, where the trace ends.
    let served = Served::start(bank_trace(), &["--once"]);
    let t = served.lldb(&["process continue"]);
    t.expect("process continue", 0, &["stop reason = history boundary"]);
}

#[test]
fn an_exit_is_reported_with_its_status() {
    let _one = LLDB.lock().unwrap_or_else(|e| e.into_inner());
    if !lldb_available() {
        return;
    }
    let dir = scratch("serve-exit");
    let wat = dir.join("exit.wat");
    std::fs::write(
        &wat,
        r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const 3))))"#,
    )
    .unwrap();
    let trace = dir.join("exit.deja");
    let out = deja_in(&dir, &["record", "-o", "exit.deja", "exit.wat"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let served = Served::start(&trace, &["--at", "start", "--once"]);
    let t = served.lldb(&["process continue"]);
    t.expect("process continue", 0, &["exited with status = 3"]);
}

#[test]
fn the_server_is_ready_for_the_next_client() {
    let _one = LLDB.lock().unwrap_or_else(|e| e.into_inner());
    if !lldb_available() {
        return;
    }
    let served = Served::start(bank_trace(), &[]);
    let first = served.lldb(&[
        "breakpoint set -f bank.c -l 23",
        "process continue --reverse",
        "frame variable",
    ]);
    first.expect("frame variable", 0, &["(int) amount = 5"]);
    // The next client starts at the failure again, without the first one's breakpoint.
    let second = served.lldb(&["bt", "process continue --reverse"]);
    second.expect(
        "process connect",
        0,
        &[
            "stop reason = wasm trap: integer divide by zero",
            "bank.c:34",
        ],
    );
    second.expect(
        "process continue --reverse",
        0,
        &["stop reason = history boundary"],
    );
}

#[test]
fn bad_arguments_and_inputs_get_clear_errors() {
    let dir = scratch("serve-errors");
    std::fs::write(dir.join("empty.deja"), b"").unwrap();
    std::fs::copy(
        repo().join("examples/serve/bank.wasm"),
        dir.join("bank.wasm"),
    )
    .unwrap();
    let cases: &[(&[&str], i32, &str)] = &[
        (&["serve", "missing.deja"], 111, "missing.deja"),
        (&["serve", "empty.deja"], 119, "not a deja trace"),
        (&["serve", "bank.wasm"], 119, "it is a WebAssembly module"),
        (
            &["serve", "--at", "soon", "empty.deja"],
            2,
            "--at takes start, end or a position",
        ),
    ];
    for (args, code, message) in cases {
        let out = deja_in(&dir, args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // An address that is none, and a port already taken.
    let trace = bank_trace().to_str().unwrap();
    let out = deja_in(&dir, &["serve", "--listen", "nonsense", trace]);
    assert_eq!(out.status.code(), Some(111));
    assert!(text(&out.stderr).contains("cannot listen on nonsense: invalid socket address"));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = deja_in(&dir, &["serve", "--listen", &addr, trace]);
    assert_eq!(out.status.code(), Some(111));
    assert!(text(&out.stderr).contains(&format!("cannot listen on {addr}")));
}

/// Words of a line, single-spaced: LLDB's source listings mix tabs and spaces.
fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_readme_transcript_works_as_shown() {
    let _one = LLDB.lock().unwrap_or_else(|e| e.into_inner());
    if !lldb_available() {
        return;
    }
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = &readme[readme.find("## LLDB: `deja serve`").unwrap()..];
    // The section's second code block is the transcript.
    let block = section.split("```").nth(3).unwrap();
    let mut commands: Vec<String> = Vec::new();
    let mut shown: Vec<(String, Vec<String>)> = vec![("process connect".into(), Vec::new())];
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(cmd) = line.strip_prefix("(lldb) ") {
            commands.push(cmd.to_string());
            shown.push((cmd.to_string(), Vec::new()));
        } else {
            shown.last_mut().unwrap().1.push(words(line));
        }
    }
    assert!(commands.len() > 10, "{block}");
    let served = Served::start(bank_trace(), &["--once"]);
    let refs: Vec<&str> = commands.iter().map(String::as_str).collect();
    let t = served.lldb(&refs);
    let mut seen = std::collections::HashMap::new();
    for (cmd, lines) in &shown {
        let n = seen.entry(cmd.clone()).or_insert(0usize);
        let out = words(t.of(cmd, *n));
        *n += 1;
        for l in lines {
            assert!(
                out.contains(l.as_str()),
                "README shows {l:?} after `{cmd}`; LLDB printed:\n{out}"
            );
        }
    }
}

#[test]
fn process_interrupt_stops_a_long_continue() {
    let _one = LLDB.lock().unwrap_or_else(|e| e.into_inner());
    if !lldb_available() {
        return;
    }
    let dir = scratch("serve-interrupt");
    // About 4 x 10^8 steps: a forward continue from the start takes over a second.
    std::fs::write(
        dir.join("long.wat"),
        r#"(module
  (memory (export "memory") 1)
  (func $tick (param i32) (i32.store (i32.const 8) (local.get 0)))
  (func (export "_start") (local $i i32)
    (loop $l
      (call $tick (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 30000000))))
    unreachable))"#,
    )
    .unwrap();
    let out = deja_in(&dir, &["record", "-o", "long.deja", "long.wat"]);
    assert_eq!(out.status.code(), Some(134), "{}", text(&out.stderr));
    let served = Served::start(&dir.join("long.deja"), &["--at", "start", "--once"]);
    // LLDB's batch mode waits for a continue to stop; in asynchronous mode the next command
    // runs meanwhile, as a user's Ctrl-C does.
    let t = served.lldb(&[
        "script lldb.debugger.SetAsync(True)",
        "process continue",
        "script import time; time.sleep(0.3)",
        "process interrupt",
        "script time.sleep(0.5); lldb.debugger.SetAsync(False)",
        "process status",
        "memory read -s 4 -f u -c 1 8",
    ]);
    t.expect("process status", 0, &["stop reason = signal SIGINT"]);
    // Stopped in the middle of the loop: the last value stored is neither 0 nor the last.
    let value = t.of("memory read -s 4 -f u -c 1 8", 0);
    let n: u64 = value
        .trim()
        .strip_prefix("0x00000008: ")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{value}"));
    assert!(n > 0 && n < 29_999_999, "interrupted at {n}");
}
