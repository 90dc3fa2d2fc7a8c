//! Chaos mode and hunting: the WASI contract under chaos, the flaky examples caught by
//! `record --until-failure --chaos` (and not by plain re-running), their traces replayed
//! exactly, and the failure predicates.

use deja_runtime::wasi::{self, ChaosConfig, Errno, Preopen, Strategies, WasiCtx, WasiCtxBuilder};
use deja_runtime::{Config, Extern, Instance, Linker, Memory, Module, Store, Val};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

mod support;

use support::{deja_in, repo, text};

/// A fresh directory holding a copy of the chaos examples' data.
fn work(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("deja-chaos-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    copy_tree(&repo().join("examples/chaos/data"), &d.join("data"));
    d
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn example(name: &str) -> String {
    repo()
        .join(format!("examples/chaos/{name}.wasm"))
        .to_str()
        .unwrap()
        .to_string()
}

/// The header's chaos strategies, from `info --json`.
fn trace_strategies(dir: &Path, trace: &str) -> Vec<String> {
    let info = deja_in(dir, &["info", "--json", trace]);
    assert_eq!(info.status.code(), Some(0), "{}", text(&info.stderr));
    let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    v["summary"]["header"]["chaos"]["strategies"]
        .as_array()
        .unwrap_or_else(|| panic!("no chaos in {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Replays `trace` and checks that it matched and exited with `code`.
fn replays_exactly(dir: &Path, trace: &str, code: i32) {
    let rep = deja_in(dir, &["replay", trace]);
    assert_eq!(rep.status.code(), Some(code), "{}", text(&rep.stderr));
    assert!(
        text(&rep.stderr).starts_with("replay matches: "),
        "{}",
        text(&rep.stderr)
    );
}

/// (example, its failing exit code, the strategies of which one must be active to fail)
const EXAMPLES: &[(&str, i32, &[&str])] = &[
    ("readall", 1, &["short-read"]),
    ("rate", 134, &["clock-equal", "clock-coarse"]),
    ("walk", 1, &["dir-order"]),
    ("retry", 1, &["eagain"]),
];

/// The budget every example gets, with and without chaos.
const BUDGET: &str = "40";

#[test]
fn each_example_is_caught_by_chaos_and_its_trace_replays_exactly() {
    for (name, code, needs) in EXAMPLES {
        let dir = work(name);
        let rec = deja_in(
            &dir,
            &[
                "record",
                "--until-failure",
                BUDGET,
                "--chaos=0x5eed",
                "--jobs",
                "2",
                "--dir",
                "data::data",
                &example(name),
            ],
        );
        let err = text(&rec.stderr);
        assert_eq!(rec.status.code(), Some(*code), "{name}: {err}");
        assert!(err.contains("failed on run "), "{name}: {err}");
        assert!(
            err.contains("; stopped at the first failure"),
            "{name}: {err}"
        );
        assert!(
            err.contains("chaos strategies active in the failing runs: "),
            "{name}: {err}"
        );
        let trace = format!("{name}.deja");
        let active = trace_strategies(&dir, &trace);
        assert!(
            needs.iter().any(|s| active.iter().any(|a| a == s)),
            "{name} failed without any of {needs:?}: {active:?}"
        );
        replays_exactly(&dir, &trace, *code);
        // The failing run's output was held back while hunting and printed once it was kept.
        assert!(!err.contains("deja: all "), "{name}: {err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn plain_rerunning_does_not_catch_them_in_the_same_budget() {
    for (name, _, _) in EXAMPLES {
        let dir = work(&format!("plain-{name}"));
        let rec = deja_in(
            &dir,
            &[
                "record",
                "--until-failure",
                BUDGET,
                "--dir",
                "data::data",
                &example(name),
            ],
        );
        let err = text(&rec.stderr);
        assert_eq!(rec.status.code(), Some(0), "{name}: {err}");
        assert!(
            err.contains(&format!("all {BUDGET} runs passed; no trace kept")),
            "{name}: {err}"
        );
        assert!(!dir.join(format!("{name}.deja")).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_seeded_hunt_on_one_job_repeats_itself() {
    let dir = work("repeat");
    let hunt = |out: &str| {
        let rec = deja_in(
            &dir,
            &[
                "record",
                "-o",
                out,
                "--until-failure",
                BUDGET,
                "--chaos=7",
                "-j",
                "1",
                &example("rate"),
            ],
        );
        assert_eq!(rec.status.code(), Some(134), "{}", text(&rec.stderr));
        let err = text(&rec.stderr);
        let line = err
            .lines()
            .find(|l| l.starts_with("deja: failed on run "))
            .unwrap_or_else(|| panic!("{err}"))
            .to_string();
        (line, trace_strategies(&dir, out))
    };
    assert_eq!(hunt("a.deja"), hunt("b.deja"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_single_chaos_recording_says_its_seed_and_replays_exactly() {
    let dir = work("single");
    for (name, _, _) in EXAMPLES {
        let trace = format!("{name}.deja");
        let rec = deja_in(
            &dir,
            &[
                "record",
                "-o",
                &trace,
                "--chaos=0x2a",
                "--chaos-strategies",
                "all",
                "--dir",
                "data::data",
                &example(name),
            ],
        );
        let code = rec.status.code().unwrap();
        assert!(
            text(&rec.stderr).contains("deja: chaos seed 0x2a, strategies clock-equal,"),
            "{}",
            text(&rec.stderr)
        );
        assert_eq!(
            trace_strategies(&dir, &trace),
            Strategies::all().names(),
            "{name}"
        );
        replays_exactly(&dir, &trace, code);
        let info = deja_in(&dir, &["info", &trace]);
        assert!(
            text(&info.stdout).contains("chaos:       seed 0x2a, strategies clock-equal,"),
            "{}",
            text(&info.stdout)
        );
    }
    // Sleeping and clock-reading under every strategy replays too.
    let ticker = repo().join("examples/wat/ticker.wat");
    let rec = deja_in(
        &dir,
        &[
            "record",
            "-o",
            "ticker.deja",
            "--chaos=3",
            "--chaos-strategies",
            "all",
            "--max-steps",
            "3000000",
            ticker.to_str().unwrap(),
        ],
    );
    assert_eq!(rec.status.code(), Some(115), "{}", text(&rec.stderr));
    replays_exactly(&dir, "ticker.deja", 115);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fail_after_steps_keeps_a_hang_that_replays_to_its_position() {
    let dir = work("hang");
    let spin = repo().join("examples/wat/loop.wat");
    let rec = deja_in(
        &dir,
        &[
            "record",
            "--until-failure",
            "3",
            "--fail-after-steps",
            "50000",
            "-j",
            "1",
            spin.to_str().unwrap(),
        ],
    );
    let err = text(&rec.stderr);
    assert_eq!(rec.status.code(), Some(115), "{err}");
    assert!(err.contains("failed on run 1 of 3"), "{err}");
    assert!(
        err.contains("failure kinds: hang (reached 50000 steps) ×"),
        "{err}"
    );
    let rep = deja_in(&dir, &["replay", "loop.deja"]);
    assert_eq!(rep.status.code(), Some(115), "{}", text(&rep.stderr));
    assert!(
        text(&rep.stderr).contains("after 50000 steps"),
        "{}",
        text(&rep.stderr)
    );
    // Without the predicate, a run stopped by --max-steps is not a failure.
    let rec = deja_in(
        &dir,
        &[
            "record",
            "-o",
            "budget.deja",
            "--until-failure",
            "2",
            "--max-steps",
            "50000",
            spin.to_str().unwrap(),
        ],
    );
    assert_eq!(rec.status.code(), Some(0), "{}", text(&rec.stderr));
    assert!(!dir.join("budget.deja").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ok_exit_codes_leave_only_the_other_failures() {
    // flaky.wasm fails by exiting 1 (over budget) or by trapping; with 1 declared normal only
    // a trap is kept.
    let dir = work("ok-codes");
    std::fs::copy(
        repo().join("examples/flaky/data/prices.txt"),
        dir.join("data/prices.txt"),
    )
    .unwrap();
    let flaky = repo().join("examples/flaky/flaky.wasm");
    let rec = deja_in(
        &dir,
        &[
            "record",
            "--until-failure",
            "400",
            "--ok-exit-codes",
            "1,3",
            "--dir",
            "data::data",
            flaky.to_str().unwrap(),
        ],
    );
    let err = text(&rec.stderr);
    assert_eq!(rec.status.code(), Some(134), "{err}");
    assert!(
        err.contains("failure kinds: trap (integer divide by zero) ×"),
        "{err}"
    );
    assert!(!err.contains("exit 1"), "{err}");
    replays_exactly(&dir, "flaky.deja", 134);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fail_on_output_catches_a_run_that_exits_zero() {
    let dir = work("output");
    let rec = deja_in(
        &dir,
        &[
            "record",
            "--until-failure",
            "5",
            "--fail-on-output",
            r"loaded \d+ settings",
            "--dir",
            "data::data",
            &example("readall"),
        ],
    );
    let err = text(&rec.stderr);
    assert_eq!(rec.status.code(), Some(0), "{err}");
    assert!(err.contains("failed on run "), "{err}");
    assert!(
        err.contains(r"failure kinds: output matched /loaded \d+ settings/ ×"),
        "{err}"
    );
    // The kept run's output, held while hunting, is printed.
    assert_eq!(text(&rec.stdout), "loaded 7 settings\n");
    replays_exactly(&dir, "readall.deja", 0);
    // A pattern that never matches fails nothing.
    let rec = deja_in(
        &dir,
        &[
            "record",
            "-o",
            "none.deja",
            "--until-failure",
            "3",
            "--fail-on-output",
            "panic",
            "--dir",
            "data::data",
            &example("readall"),
        ],
    );
    assert_eq!(rec.status.code(), Some(0));
    assert!(text(&rec.stderr).contains("all 3 runs passed"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn keep_k_keeps_k_failing_traces() {
    let dir = work("keep");
    let rec = deja_in(
        &dir,
        &[
            "record",
            "--until-failure",
            "100",
            "--chaos=1",
            "--chaos-strategies",
            "clock-coarse",
            "--keep",
            "3",
            "-j",
            "2",
            &example("rate"),
        ],
    );
    let err = text(&rec.stderr);
    assert_eq!(rec.status.code(), Some(134), "{err}");
    assert!(err.contains("stopped after 3 failures"), "{err}");
    for trace in ["rate.deja", "rate-2.deja", "rate-3.deja"] {
        assert!(err.contains(&format!("kept {trace} (run ")), "{err}");
        replays_exactly(&dir, trace, 134);
    }
    assert!(!dir.join("rate-4.deja").exists());
    // No temporary trace is left behind.
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn minimize_finds_the_one_strategy_each_example_needs() {
    for (name, code, strategy) in [("walk", 1, "dir-order"), ("retry", 1, "eagain")] {
        let dir = work(&format!("min-{name}"));
        let rec = deja_in(
            &dir,
            &[
                "record",
                "--until-failure",
                BUDGET,
                "--chaos=11",
                "--chaos-strategies",
                "all",
                "--minimize",
                "--dir",
                "data::data",
                &example(name),
            ],
        );
        let err = text(&rec.stderr);
        assert_eq!(rec.status.code(), Some(code), "{name}: {err}");
        assert!(
            err.contains(&format!("fails with {strategy} alone, when ")),
            "{name}: {err}"
        );
        let min = format!("{name}-min.deja");
        assert!(err.contains(&format!("kept {min}")), "{name}: {err}");
        assert_eq!(trace_strategies(&dir, &min), [strategy], "{name}");
        replays_exactly(&dir, &min, code);
        // The hunt's own trace keeps every strategy it failed under.
        assert_eq!(
            trace_strategies(&dir, &format!("{name}.deja")),
            Strategies::all().names()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

// ---- the WASI contract under chaos, through the real host functions ----

const GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; fd at 60000
  (func (export "open") (param $p i32) (param $l i32) (param $oflags i32) (param $fdflags i32) (result i32)
    (call $open (i32.const 3) (i32.const 0) (local.get $p) (local.get $l) (local.get $oflags)
      (i64.const 0x42) (i64.const 0) (local.get $fdflags) (i32.const 60000)))
  ;; bytes read or written at 60016
  (func (export "read") (param $fd i32) (param $buf i32) (param $len i32) (result i32)
    (i32.store (i32.const 60008) (local.get $buf))
    (i32.store (i32.const 60012) (local.get $len))
    (call $read (local.get $fd) (i32.const 60008) (i32.const 1) (i32.const 60016)))
  (func (export "write") (param $fd i32) (param $buf i32) (param $len i32) (result i32)
    (i32.store (i32.const 60008) (local.get $buf))
    (i32.store (i32.const 60012) (local.get $len))
    (call $write (local.get $fd) (i32.const 60008) (i32.const 1) (i32.const 60016)))
  ;; reading at 60024
  (func (export "clock") (param $id i32) (result i32)
    (call $clock (local.get $id) (i64.const 1) (i32.const 60024)))
  ;; sleeps $ms milliseconds on the monotonic clock: one relative clock subscription at 59000,
  ;; its event at 59100, the event count at 60032
  (func (export "sleep") (param $ms i32) (result i32)
    (i64.store (i32.const 59000) (i64.const 7))
    (i32.store8 (i32.const 59008) (i32.const 0))
    (i32.store (i32.const 59016) (i32.const 1))
    (i64.store (i32.const 59024) (i64.mul (i64.extend_i32_u (local.get $ms)) (i64.const 1000000)))
    (i64.store (i32.const 59032) (i64.const 0))
    (i32.store16 (i32.const 59040) (i32.const 0))
    (call $poll (i32.const 59000) (i32.const 59100) (i32.const 1) (i32.const 60032))))"#;

const NONBLOCK: i32 = 4;
const CREAT: i32 = 1;

struct Guest {
    store: Store<WasiCtx>,
    instance: Instance,
    memory: Memory,
}

impl Guest {
    fn new(root: &Path, chaos: Option<ChaosConfig>, cancel: Option<Arc<AtomicBool>>) -> Guest {
        let mut b = WasiCtxBuilder::new();
        b.preopen(Preopen {
            host: root.to_owned(),
            guest: ".".into(),
            read_only: false,
        });
        if let Some(c) = chaos {
            b.chaos(c);
        }
        if let Some(f) = cancel {
            b.cancel_flag(f);
        }
        let mut store = Store::new(Config::default(), b.build().unwrap());
        let mut linker = Linker::new();
        wasi::add_to_linker(&mut linker, |c: &mut WasiCtx| c);
        let module = Module::new(GUEST.as_bytes()).unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let Some(Extern::Memory(memory)) = store.get_export(instance, "memory") else {
            panic!("no memory")
        };
        Guest {
            store,
            instance,
            memory,
        }
    }

    fn call(&mut self, name: &str, args: &[i32]) -> deja_runtime::Result<Errno> {
        let f = self.store.get_func(self.instance, name).unwrap();
        let args: Vec<Val> = args.iter().map(|a| Val::I32(*a)).collect();
        let r = self.store.call(f, &args)?;
        let [Val::I32(e)] = r[..] else {
            panic!("{r:?}")
        };
        Ok(Errno(e as u16))
    }

    fn u32_at(&self, addr: usize) -> u32 {
        let m = self.store.memory_data(self.memory);
        u32::from_le_bytes(m[addr..addr + 4].try_into().unwrap())
    }

    fn u64_at(&self, addr: usize) -> u64 {
        let m = self.store.memory_data(self.memory);
        u64::from_le_bytes(m[addr..addr + 8].try_into().unwrap())
    }

    fn open(&mut self, name: &str, oflags: i32, fdflags: i32) -> i32 {
        self.store
            .memory_write(self.memory, 1000, name.as_bytes())
            .unwrap();
        let e = self
            .call("open", &[1000, name.len() as i32, oflags, fdflags])
            .unwrap();
        assert_eq!(e, Errno::SUCCESS);
        self.u32_at(60000) as i32
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("deja-chaos-wasi-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn short_reads_return_at_least_one_byte_and_eagain_only_when_nonblocking() {
    let dir = scratch("reads");
    let content: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.join("f"), &content).unwrap();
    let (mut short, mut again) = (0, 0);
    for seed in 0..8 {
        for fdflags in [0, NONBLOCK] {
            let chaos = ChaosConfig {
                seed,
                strategies: Strategies::parse("short-read,eagain").unwrap(),
            };
            let mut g = Guest::new(&dir, Some(chaos), None);
            let fd = g.open("f", 0, fdflags);
            let mut got = Vec::new();
            loop {
                match g.call("read", &[fd, 2000, 700]).unwrap() {
                    Errno::SUCCESS => {}
                    Errno::AGAIN => {
                        assert_eq!(fdflags, NONBLOCK, "EAGAIN on a blocking descriptor");
                        again += 1;
                        continue;
                    }
                    e => panic!("{e:?}"),
                }
                let n = g.u32_at(60016) as usize;
                if n == 0 {
                    break;
                }
                assert!(n <= 700);
                // A short read is never empty while data remains.
                short += usize::from(n < 700.min(content.len() - got.len()));
                got.extend_from_slice(&g.store.memory_data(g.memory)[2000..2000 + n]);
            }
            assert_eq!(got, content, "seed {seed}: reads lost or repeated bytes");
        }
    }
    assert!(short > 10 && again > 5, "short {short}, EAGAIN {again}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn short_writes_write_a_prefix_and_say_so() {
    let dir = scratch("writes");
    let content: Vec<u8> = (0..2000u32).map(|i| (i % 256) as u8).collect();
    let mut calls = 0;
    for seed in 0..8 {
        let chaos = ChaosConfig {
            seed,
            strategies: Strategies::parse("short-write").unwrap(),
        };
        let mut g = Guest::new(&dir, Some(chaos), None);
        g.store.memory_write(g.memory, 5000, &content).unwrap();
        let name = format!("out{seed}");
        let fd = g.open(&name, CREAT, 0);
        let mut done = 0usize;
        while done < content.len() {
            let e = g
                .call(
                    "write",
                    &[fd, 5000 + done as i32, (content.len() - done) as i32],
                )
                .unwrap();
            assert_eq!(e, Errno::SUCCESS);
            let n = g.u32_at(60016) as usize;
            assert!(n >= 1 && n <= content.len() - done);
            done += n;
            calls += 1;
        }
        assert_eq!(std::fs::read(dir.join(&name)).unwrap(), content);
    }
    assert!(calls > 8 + 4, "only {calls} writes for 8 files");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_monotonic_clock_never_goes_backward_under_any_chaos() {
    let dir = scratch("clock");
    let mut equal = 0;
    for seed in 0..20 {
        let mut g = Guest::new(&dir, Some(ChaosConfig::from_seed(seed)), None);
        let mut last = 0;
        for _ in 0..200 {
            assert_eq!(g.call("clock", &[1]).unwrap(), Errno::SUCCESS);
            let t = g.u64_at(60024);
            assert!(t >= last, "seed {seed}: {t} after {last}");
            equal += u32::from(t == last);
            last = t;
        }
    }
    assert!(equal > 100, "{equal} equal readings");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_poll_timeout_has_elapsed_on_the_guest_clock_however_early_it_fires() {
    let dir = scratch("poll");
    let (mut slept, mut interrupted) = (0, 0);
    for seed in 0..12 {
        let chaos = ChaosConfig {
            seed,
            strategies: Strategies::parse("poll-early,poll-late,clock-slow,clock-equal,eintr")
                .unwrap(),
        };
        let mut g = Guest::new(&dir, Some(chaos), None);
        for _ in 0..4 {
            g.call("clock", &[1]).unwrap();
            let before = g.u64_at(60024);
            match g.call("sleep", &[2]).unwrap() {
                Errno::SUCCESS => {}
                Errno::INTR => {
                    interrupted += 1;
                    continue;
                }
                e => panic!("{e:?}"),
            }
            assert_eq!(g.u32_at(60032), 1, "one event");
            g.call("clock", &[1]).unwrap();
            let after = g.u64_at(60024);
            assert!(
                after >= before + 2_000_000,
                "seed {seed}: slept 2 ms but the clock moved {} ns",
                after - before
            );
            slept += 1;
        }
    }
    assert!(
        slept > 20 && interrupted > 0,
        "{slept} sleeps, {interrupted} EINTR"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn without_chaos_nothing_is_perturbed() {
    let dir = scratch("plain");
    let content = vec![7u8; 3000];
    std::fs::write(dir.join("f"), &content).unwrap();
    let mut g = Guest::new(&dir, None, None);
    let fd = g.open("f", 0, NONBLOCK);
    assert_eq!(g.call("read", &[fd, 2000, 3000]).unwrap(), Errno::SUCCESS);
    assert_eq!(g.u32_at(60016), 3000, "one read, everything");
    for _ in 0..20 {
        assert_eq!(g.call("read", &[fd, 2000, 10]).unwrap(), Errno::SUCCESS);
        assert_eq!(g.u32_at(60016), 0, "end of file, never EAGAIN");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_set_cancel_flag_ends_the_run_at_the_next_wasi_call() {
    let dir = scratch("cancel");
    let flag = Arc::new(AtomicBool::new(false));
    let mut g = Guest::new(&dir, None, Some(flag.clone()));
    assert_eq!(g.call("clock", &[1]).unwrap(), Errno::SUCCESS);
    flag.store(true, Ordering::SeqCst);
    match g.call("clock", &[1]) {
        Err(deja_runtime::Error::Host { message, .. }) => assert_eq!(message, wasi::CANCELLED),
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
