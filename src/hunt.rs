//! `deja record --until-failure`: hunting for a failing run.
//!
//! Attempts run on `--jobs` threads over one compiled [`Module`] (it is an `Arc` inside, so
//! sharing it costs nothing). Each attempt records into its own temporary trace beside the
//! output and holds the guest's output in memory; a passing attempt's trace is deleted as soon
//! as it ends. When the K-th failure (`--keep`, default 1) is in, the hunt sets a flag that
//! every other attempt's WASI context checks at each call, so the attempts still running stop
//! at their next WASI call; they are not counted. Attempt K's chaos seed derives from the
//! hunt's seed and K alone, so which thread ran it does not matter.
//!
//! A run has failed when it traps, stops on a host error, exits with a code that is neither 0
//! nor in `--ok-exit-codes`, reaches `--fail-after-steps` (a hang: the step budget stops it
//! there, and the trace ends at that position), or prints something `--fail-on-output`
//! matches.

use crate::cli::RecordArgs;
use crate::exit::{Failure, run_outcome_code};
use crate::record::{Attempt, Recorded, chaos_line, random_seed, record_once, report_line};
use deja_runtime::Module;
use deja_runtime::wasi::{self, ChaosConfig, Strategy};
use deja_traces::RunOutcome;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Why a run counts as failed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Exit(u32),
    Trap(String),
    HostError,
    Hang(u64),
    Output,
}

impl Kind {
    fn label(&self, regex: Option<&regex::Regex>) -> String {
        match self {
            Kind::Exit(c) => format!("exit {c}"),
            Kind::Trap(m) => format!("trap ({m})"),
            Kind::HostError => "host error".into(),
            Kind::Hang(n) => format!("hang (reached {n} steps)"),
            Kind::Output => format!("output matched /{}/", regex.map_or("", |r| r.as_str())),
        }
    }
}

/// The failure predicates of a hunt.
pub struct Judge<'a> {
    ok_exit_codes: &'a [i32],
    fail_after_steps: Option<u64>,
    fail_on_output: Option<&'a regex::Regex>,
}

impl Judge<'_> {
    /// Why `run` failed, or `None` if it passed.
    pub fn verdict(&self, run: &Recorded) -> Option<Kind> {
        let report = &run.report;
        let kind = match &report.outcome {
            RunOutcome::Returned => None,
            RunOutcome::Exit(c) if *c == 0 || self.ok_exit_codes.contains(&(*c as i32)) => None,
            RunOutcome::Exit(c) => Some(Kind::Exit(*c)),
            RunOutcome::Trap { code, .. } => Some(Kind::Trap(
                deja_recorder::convert::trap_message(*code).to_string(),
            )),
            RunOutcome::HostError { .. } => Some(Kind::HostError),
            RunOutcome::Interrupted => self
                .fail_after_steps
                .filter(|n| report.total_steps >= *n)
                .map(Kind::Hang),
        };
        kind.or_else(|| {
            let re = self.fail_on_output?;
            let matches = |b: &[u8]| re.is_match(&String::from_utf8_lossy(b));
            (matches(&run.stdout) || matches(&run.stderr)).then_some(Kind::Output)
        })
    }
}

/// A failing attempt.
struct Failed {
    run: u32,
    kind: Kind,
    chaos: Option<ChaosConfig>,
    /// Its temporary trace and what it recorded, if it is one of the kept ones.
    kept: Option<(PathBuf, Recorded)>,
}

#[derive(Default)]
struct State {
    /// Attempts that ran to their end (cancelled ones are not counted).
    completed: u32,
    /// In the order they ended.
    failures: Vec<Failed>,
    /// Per strategy, in how many completed attempts it was active.
    active: [u32; Strategy::ALL.len()],
    error: Option<Failure>,
}

/// Where the k-th kept trace goes: the output itself, then `<stem>-2.<ext>`, ...
fn kept_name(output: &Path, k: usize) -> PathBuf {
    if k == 0 {
        return output.to_path_buf();
    }
    let stem = output.file_stem().unwrap_or_default().to_string_lossy();
    let name = match output.extension() {
        Some(ext) => format!("{stem}-{}.{}", k + 1, ext.to_string_lossy()),
        None => format!("{stem}-{}", k + 1),
    };
    output.with_file_name(name)
}

fn percent(part: u32, whole: u32) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * f64::from(part) / f64::from(whole)
    }
}

/// Runs the hunt.
pub fn hunt(args: &RecordArgs, module: &Module, output: &Path) -> Result<(), Failure> {
    let runs = args.until_failure.unwrap_or(1);
    let keep = args.hunt.keep.unwrap_or(1) as usize;
    let jobs = args
        .hunt
        .jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(64) as u32)
        })
        .min(runs);
    for k in 0..keep {
        let name = kept_name(output, k);
        if name.exists() && !args.force {
            return Err(Failure::Usage(format!(
                "{} exists; choose another file with -o or overwrite it with --force",
                name.display()
            )));
        }
    }
    if args.hunt.minimize.is_some() {
        let name = crate::minimize::min_name(output);
        if name.exists() && !args.force {
            return Err(Failure::Usage(format!(
                "{} exists; choose another file with -o or overwrite it with --force",
                name.display()
            )));
        }
    }
    let base_seed = args.hunt.chaos.map(|s| s.unwrap_or_else(random_seed));
    if let Some(seed) = base_seed {
        eprintln!("deja: hunting with chaos seed {seed:#x} (--chaos={seed:#x} repeats the hunt)");
    }
    let budget = match (args.exec.max_steps, args.hunt.fail_after_steps) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let judge = Judge {
        ok_exit_codes: &args.hunt.ok_exit_codes,
        fail_after_steps: args.hunt.fail_after_steps,
        fail_on_output: args.hunt.fail_on_output.as_ref(),
    };
    let tmp_name = |run: u32| {
        let mut name = output.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".tmp-{}-{run}", std::process::id()));
        output.with_file_name(name)
    };
    let stop = Arc::new(AtomicBool::new(false));
    let interrupt = crate::signals::Interrupt::install()?;
    let next = AtomicU32::new(1);
    let state = Mutex::new(State::default());
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();

    let worker = || {
        loop {
            if stop.load(Ordering::SeqCst) || interrupt.raised() {
                return;
            }
            let run = next.fetch_add(1, Ordering::SeqCst);
            if run > runs {
                return;
            }
            let chaos = base_seed.map(|base| {
                let mut c = ChaosConfig::from_seed(wasi::chaos::run_seed(base, u64::from(run)));
                if let Some(s) = args.hunt.chaos_strategies {
                    c.strategies = s;
                }
                c
            });
            let attempt = Attempt {
                chaos,
                cancel: Some(stop.clone()),
                capture: true,
                max_steps: budget,
                interrupt: Some(interrupt.flag.clone()),
                interrupt_signal: Some(interrupt.signal.clone()),
            };
            let path = tmp_name(run);
            let recorded = match record_once(args, module, &path, &attempt) {
                Ok(r) => r,
                Err(e) => {
                    stop.store(true, Ordering::SeqCst);
                    lock().error.get_or_insert(e);
                    return;
                }
            };
            // A run cut short by another's failure or by a signal is not counted.
            let cancelled = recorded.report.interrupted
                || stop.load(Ordering::SeqCst)
                    && matches!(&recorded.report.outcome,
                    RunOutcome::HostError { message, .. } if message == wasi::CANCELLED);
            let verdict = (!cancelled).then(|| judge.verdict(&recorded)).flatten();
            let mut s = lock();
            if cancelled {
                drop(s);
                let _ = std::fs::remove_file(&path);
                return;
            }
            s.completed += 1;
            if let Some(c) = &chaos {
                for (i, st) in Strategy::ALL.iter().enumerate() {
                    s.active[i] += u32::from(c.strategies.contains(*st));
                }
            }
            let Some(kind) = verdict else {
                drop(s);
                if let Err(e) = std::fs::remove_file(&path) {
                    lock().error.get_or_insert(e.into());
                    stop.store(true, Ordering::SeqCst);
                }
                continue;
            };
            let kept_so_far = s.failures.iter().filter(|f| f.kept.is_some()).count();
            let kept = if kept_so_far < keep {
                Some((path, recorded))
            } else {
                let _ = std::fs::remove_file(&path);
                None
            };
            s.failures.push(Failed {
                run,
                kind,
                chaos,
                kept,
            });
            if kept_so_far + 1 >= keep {
                stop.store(true, Ordering::SeqCst);
            }
        }
    };
    let running = AtomicU32::new(jobs);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                worker();
                running.fetch_sub(1, Ordering::SeqCst);
            });
        }
        // Progress on a terminal only, for hunts longer than two seconds (see `progress`).
        scope.spawn(|| {
            let mut bar = crate::progress::Bar::new("hunting");
            while running.load(Ordering::SeqCst) > 0 {
                std::thread::sleep(std::time::Duration::from_millis(100));
                let (done, failed) = {
                    let s = lock();
                    (s.completed, s.failures.len())
                };
                bar.update(
                    u64::from(done),
                    u64::from(runs),
                    format!("{done} of {runs} runs, {failed} failed"),
                );
            }
        });
    });
    let elapsed = started.elapsed().as_secs_f64();
    let state = state.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = state.error {
        for f in &state.failures {
            if let Some((path, _)) = &f.kept {
                let _ = std::fs::remove_file(path);
            }
        }
        return Err(e);
    }
    let rate = if elapsed > 0.0 {
        f64::from(state.completed) / elapsed
    } else {
        0.0
    };
    let pace = format!(
        "in {elapsed:.2} s, {jobs} job{} ({rate:.1} runs/s)",
        if jobs == 1 { "" } else { "s" }
    );
    if interrupt.raised() {
        eprintln!(
            "deja: {} after {} of {runs} runs; the run in progress was discarded",
            interrupt.name(),
            state.completed
        );
    }
    if state.failures.is_empty() {
        eprintln!(
            "deja: all {} runs passed; no trace kept ({pace})",
            state.completed
        );
        return if interrupt.raised() {
            Err(Failure::Silent(interrupt.exit_code()))
        } else {
            Ok(())
        };
    }

    // Keep the failing traces, the first under the name asked for.
    let mut kept = Vec::new();
    for f in state.failures.iter() {
        if let Some((path, recorded)) = &f.kept {
            let name = kept_name(output, kept.len());
            std::fs::rename(path, &name)?;
            kept.push((f, name, recorded));
        }
    }
    let (first, first_name, first_run) = &kept[0];
    // The failing run's output, which was held back while hunting.
    std::io::stdout().lock().write_all(&first_run.stdout)?;
    std::io::stderr().lock().write_all(&first_run.stderr)?;
    eprintln!("deja: failed on run {} of {runs}", first.run);
    if let Some(deja_runtime::Error::Trap(t)) = &first_run.report.error {
        eprintln!("deja: {t}");
    }
    eprintln!("deja: {}", report_line(&first_run.report, first_name));
    let failed = state.failures.len() as u32;
    let stopped = if state.completed < runs {
        if keep == 1 {
            "; stopped at the first failure".to_string()
        } else {
            format!("; stopped after {keep} failures")
        }
    } else {
        String::new()
    };
    eprintln!(
        "deja: failed {failed} of {} runs ({:.1} %) {pace}{stopped}",
        state.completed,
        percent(failed, state.completed)
    );
    let mut kinds: std::collections::BTreeMap<&Kind, u32> = Default::default();
    for f in &state.failures {
        *kinds.entry(&f.kind).or_default() += 1;
    }
    let kinds: Vec<String> = kinds
        .iter()
        .map(|(k, n)| format!("{} ×{n}", k.label(judge.fail_on_output)))
        .collect();
    eprintln!("deja: failure kinds: {}", kinds.join(", "));
    if base_seed.is_some() {
        // Which strategies the failing runs had, against how often each was active at all:
        // one active in every failure but half the runs is the lead to follow.
        let mut in_failures: Vec<(Strategy, u32, u32)> = Strategy::ALL
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let n = state
                    .failures
                    .iter()
                    .filter(|f| f.chaos.is_some_and(|c| c.strategies.contains(*s)))
                    .count() as u32;
                (*s, n, state.active[i])
            })
            .filter(|(_, n, _)| *n > 0)
            .collect();
        // Rarest overall first among those in every failure: the likeliest leads.
        in_failures.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)));
        let in_all = in_failures.iter().filter(|(_, n, _)| *n == failed).count();
        let list: Vec<String> = in_failures
            .iter()
            .take(in_all.max(5))
            .map(|(s, n, all)| {
                format!(
                    "{s} {n}/{failed} ({:.0} % of all runs)",
                    percent(*all, state.completed)
                )
            })
            .collect();
        eprintln!(
            "deja: chaos strategies active in the failing runs: {}",
            list.join(", ")
        );
    }
    for (f, name, _) in &kept {
        let chaos = f
            .chaos
            .as_ref()
            .map_or_else(String::new, |c| format!(", {}", chaos_line(c)));
        eprintln!(
            "deja: kept {} (run {}, {}{chaos})",
            name.display(),
            f.run,
            f.kind.label(judge.fail_on_output)
        );
    }
    if let (Some(attempts), Some(chaos)) = (args.hunt.minimize, first.chaos)
        && !interrupt.raised()
    {
        crate::minimize::Minimize {
            args,
            module,
            output,
            judge: &judge,
            budget,
            attempts,
            interrupt: &interrupt,
        }
        .run(chaos, &first.kind)?;
    }
    if interrupt.raised() {
        return Err(Failure::Silent(interrupt.exit_code()));
    }
    match run_outcome_code(&first_run.report.outcome) {
        0 => Ok(()),
        code => Err(Failure::Silent(code)),
    }
}
