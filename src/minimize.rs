//! `record --until-failure --chaos --minimize`: which of a failing run's chaos strategies
//! matter.
//!
//! Greedy one-at-a-time removal (the first step of delta debugging, and enough for sets of at
//! most sixteen): each strategy of the failing run is dropped in turn, and the smaller set is
//! given up to ATTEMPTS fresh runs (each with its own seed) to fail the same way. If one does,
//! the strategy was not needed and stays dropped. What remains is a set of which every member
//! was needed in those attempts: a smallest set in that sense, not a proof, because a failure
//! that needs luck may not show within the attempts.

use crate::cli::RecordArgs;
use crate::exit::Failure;
use crate::hunt::{Judge, Kind};
use crate::record::{Attempt, record_once};
use deja_runtime::Module;
use deja_runtime::wasi::{self, ChaosConfig, Strategies, Strategy};
use std::path::{Path, PathBuf};

/// Where the minimized run's trace goes: `<stem>-min.<ext>`.
pub fn min_name(output: &Path) -> PathBuf {
    let stem = output.file_stem().unwrap_or_default().to_string_lossy();
    let name = match output.extension() {
        Some(ext) => format!("{stem}-min.{}", ext.to_string_lossy()),
        None => format!("{stem}-min"),
    };
    output.with_file_name(name)
}

/// "two clock readings are equal and a read returns fewer bytes than asked".
pub fn explain(set: Strategies) -> String {
    let clauses: Vec<&str> = set.iter().map(Strategy::description).collect();
    match clauses.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// What a minimization needs from the hunt.
pub struct Minimize<'a> {
    /// The command line.
    pub args: &'a RecordArgs,
    /// The compiled module.
    pub module: &'a Module,
    /// The hunt's output name (the minimized trace goes beside it).
    pub output: &'a Path,
    /// The predicates.
    pub judge: &'a Judge<'a>,
    /// The step budget of every run.
    pub budget: Option<u64>,
    /// Runs each smaller set gets to fail.
    pub attempts: u32,
    /// The hunt's signal flags: SIGINT ends the minimization (the failing trace is kept).
    pub interrupt: &'a crate::signals::Interrupt,
}

impl Minimize<'_> {
    /// Minimizes the strategies of a run that failed as `kind` under `chaos`, and says what it
    /// found.
    ///
    /// # Errors
    /// When a run cannot be recorded or a trace cannot be moved.
    pub fn run(&self, chaos: ChaosConfig, kind: &Kind) -> Result<(), Failure> {
        let mut current = chaos.strategies;
        let mut runs = 0u64;
        let tmp = {
            let mut name = self.output.file_name().unwrap_or_default().to_os_string();
            name.push(format!(".tmp-{}-min", std::process::id()));
            self.output.with_file_name(name)
        };
        let keep = min_name(self.output);
        eprintln!(
            "deja: minimizing the {} strategies of the failing run, up to {} runs per smaller set",
            current.len(),
            self.attempts
        );
        for s in chaos.strategies.iter() {
            let mut candidate = current;
            candidate.remove(s);
            if self.fails(candidate, chaos.seed, kind, &tmp, &mut runs)? {
                current = candidate;
                std::fs::rename(&tmp, &keep)?;
            }
        }
        if current.is_empty() {
            eprintln!(
                "deja: minimized after {runs} runs: it fails the same way without chaos; kept {}",
                keep.display()
            );
        } else if current == chaos.strategies {
            eprintln!(
                "deja: minimized after {runs} runs: none of its strategies could be dropped; it fails when {}",
                explain(current)
            );
        } else {
            eprintln!(
                "deja: minimized after {runs} runs: fails with {} alone, when {}; kept {}",
                current.names().join(" + "),
                explain(current),
                keep.display()
            );
        }
        Ok(())
    }

    /// Whether a run under `strategies` fails as `kind` within the attempts; the failing
    /// run's trace is left at `tmp`.
    fn fails(
        &self,
        strategies: Strategies,
        seed: u64,
        kind: &Kind,
        tmp: &Path,
        runs: &mut u64,
    ) -> Result<bool, Failure> {
        for _ in 0..self.attempts {
            *runs += 1;
            let attempt = Attempt {
                chaos: Some(ChaosConfig {
                    seed: wasi::chaos::run_seed(seed, *runs),
                    strategies,
                }),
                cancel: None,
                capture: true,
                max_steps: self.budget,
                interrupt: Some(self.interrupt.flag.clone()),
                interrupt_signal: Some(self.interrupt.signal.clone()),
            };
            let recorded = record_once(self.args, self.module, tmp, &attempt)?;
            if recorded.report.interrupted {
                let _ = std::fs::remove_file(tmp);
                return Err(Failure::Message {
                    message: format!(
                        "{} while minimizing; the failing traces found are kept",
                        self.interrupt.name()
                    ),
                    code: self.interrupt.exit_code(),
                });
            }
            if self.judge.verdict(&recorded).as_ref() == Some(kind) {
                return Ok(true);
            }
            std::fs::remove_file(tmp)?;
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explanations_read_as_sentences() {
        let one = Strategies::parse("clock-equal").unwrap();
        assert_eq!(explain(one), "two clock readings are equal");
        let three = Strategies::parse("clock-equal,short-read,dir-order").unwrap();
        assert_eq!(
            explain(three),
            "two clock readings are equal, a read returns fewer bytes than asked and directory entries come in an unsorted order"
        );
        assert_eq!(
            min_name(Path::new("out/rate.deja")),
            PathBuf::from("out/rate-min.deja")
        );
    }
}
