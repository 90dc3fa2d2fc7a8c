//! Command-line definitions (clap derive).

use clap::builder::{OsStringValueParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use deja_runtime::wasi::Strategies;
use std::ffi::OsString;
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Exit codes:
  0    the guest finished (a WASI guest's own exit code is passed through; one above
       255, which no process can exit with, becomes 1)
  1    a --batch command failed (the others still ran)
  2    usage error (bad flags or arguments)
  110  internal error (a bug in deja)
  111  a file could not be read or written (a missing module or trace, an unwritable -o)
  112  the module does not parse (WebAssembly text syntax or binary encoding)
  113  the module is invalid or uses an unsupported proposal
  114  the module's imports cannot be satisfied
  115  the step budget (--max-steps) ran out
  116  the call stack was exhausted (too deep recursion)
  117  a host function failed
  118  replay diverged from the recording
  119  the trace cannot be read (damaged, not a trace, newer format, altered module)
  120  replay stopped at the end of a truncated trace (it matched up to there)
  121  the guest threw a WebAssembly exception that nothing caught
  130  record was interrupted by SIGINT (Ctrl-C); 143 by SIGTERM. The trace ends there
  134  the guest trapped";

/// deja: a record-and-replay time-travel debugger for WebAssembly.
#[derive(Debug, Parser)]
#[command(name = "deja", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a WebAssembly module (binary or text) on deja's JIT or interpreter (`--engine`).
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Run a guest and record everything it receives into one trace file.
    #[command(after_help = EXIT_CODES)]
    Record(RecordArgs),
    /// Re-execute a trace and check that it does exactly what was recorded.
    #[command(after_help = EXIT_CODES)]
    Replay(ReplayArgs),
    /// Describe a trace: header, module, outcome, host calls by import, sizes.
    #[command(after_help = EXIT_CODES)]
    Info(InfoArgs),
    /// Print a trace's records, one per line.
    #[command(after_help = EXIT_CODES)]
    Dump(DumpArgs),
    /// Travel through a trace: step and continue forward and backward, read frames, memory
    /// and output at any position.
    #[command(after_help = EXIT_CODES)]
    Debug(DebugArgs),
    /// Serve a trace to LLDB over gdb-remote: source-level debugging with reverse continue and
    /// reverse step (`lldb-22`, `process connect --plugin wasm`).
    #[command(after_help = EXIT_CODES)]
    Serve(ServeArgs),
}

/// `deja serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the line to connect with names it).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:1234")]
    pub listen: String,

    /// Where each client starts: `start`, `end` (default: where a failure is) or a position.
    #[arg(long, value_name = "start|end|POSITION")]
    pub at: Option<String>,

    /// Serve one client, then exit (by default the server waits for the next one).
    #[arg(long)]
    pub once: bool,

    /// Memory the checkpoints may use, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 224)]
    pub checkpoint_budget: usize,

    /// The engine of the forward passes: on `jit`, opening the trace (replaying it to the end,
    /// taking checkpoints) runs in compiled code; movements from a checkpoint run on the
    /// interpreter either way.
    #[arg(long, value_enum, value_name = "ENGINE", default_value_t = EngineChoice::Jit)]
    pub engine: EngineChoice,

    /// The trace.
    #[arg(value_name = "FILE")]
    pub trace: PathBuf,
}

/// `deja debug`.
#[derive(Debug, Args)]
pub struct DebugArgs {
    /// Read commands from FILE (`-` for stdin), one per line, and print one result per line.
    #[arg(long, value_name = "FILE")]
    pub batch: Option<String>,

    /// With --batch: one JSON object per result.
    #[arg(long)]
    pub json: bool,

    /// Where to start: `start`, `end` (default: where a failure is) or a position.
    #[arg(long, value_name = "start|end|POSITION")]
    pub at: Option<String>,

    /// Memory the checkpoints may use, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 224)]
    pub checkpoint_budget: usize,

    /// The engine of the forward passes: on `jit`, opening the trace (replaying it to the end,
    /// taking checkpoints) runs in compiled code; movements from a checkpoint run on the
    /// interpreter either way.
    #[arg(long, value_enum, value_name = "ENGINE", default_value_t = EngineChoice::Jit)]
    pub engine: EngineChoice,

    /// Where to look for the source files named by the module's debug info (DWARF), besides
    /// where it says they are, the trace's directory and the current directory. Repeatable
    #[arg(long, value_name = "DIR")]
    pub source_dir: Vec<PathBuf>,

    /// The trace.
    #[arg(value_name = "FILE")]
    pub trace: PathBuf,
}

/// The arguments after the module (a leading `--` dropped), as text: WASI passes bytes, but a
/// trace stores its arguments as text, so one that is not UTF-8 is refused by its number.
fn guest_args(module_and_args: &[OsString]) -> Result<Vec<String>, crate::exit::Failure> {
    let rest = match module_and_args.get(1).and_then(|a| a.to_str()) {
        Some("--") => &module_and_args[2..],
        _ => &module_and_args[1..],
    };
    rest.iter()
        .enumerate()
        .map(|(i, a)| {
            a.to_str().map(str::to_string).ok_or_else(|| {
                crate::exit::Failure::Usage(format!(
                    "guest argument {} (`{}`) is not valid UTF-8; deja passes guest arguments \
                     as UTF-8 text (a trace stores them as text)",
                    i + 1,
                    a.to_string_lossy()
                ))
            })
        })
        .collect()
}

/// Parses a flag's value as UTF-8 text, naming the value when it is not.
fn utf8(s: OsString) -> Result<String, String> {
    s.into_string().map_err(|s| {
        format!(
            "`{}` is not valid UTF-8 (the guest's environment and directory names are text)",
            s.to_string_lossy()
        )
    })
}

macro_rules! module_and_args {
    ($t:ty) => {
        impl $t {
            /// The module path.
            pub fn module(&self) -> PathBuf {
                PathBuf::from(&self.module_and_args[0])
            }

            /// The guest's arguments.
            ///
            /// # Errors
            /// An argument that is not UTF-8, named by its number.
            pub fn args(&self) -> Result<Vec<String>, crate::exit::Failure> {
                guest_args(&self.module_and_args)
            }
        }
    };
}
module_and_args!(RecordArgs);
module_and_args!(RunArgs);

/// `deja record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Where to write the trace (default: `<module stem>.deja` in the current directory).
    #[arg(short, long, value_name = "FILE", help_heading = "Trace")]
    pub output: Option<PathBuf>,

    /// Overwrite the output file if it exists.
    #[arg(long, help_heading = "Trace")]
    pub force: bool,

    /// Run the guest up to N times and keep only the trace of the first run that fails: exits
    /// non-zero, traps, or meets a --fail-* predicate. While hunting, each run's output is held
    /// back and only the kept run's is printed; `record` exits with that run's exit code.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Trace")]
    pub until_failure: Option<u32>,

    #[command(flatten)]
    pub hunt: HuntOptions,

    #[command(flatten)]
    pub exec: ExecOptions,

    #[command(flatten)]
    pub guest: GuestOptions,

    /// The module (a `.wasm` binary or `.wat` text), then the guest's arguments (its argv
    /// after the program name). Everything after MODULE goes to the guest; a `--` before the
    /// arguments is accepted.
    #[arg(
        value_name = "MODULE [-- ARGS]",
        required = true,
        trailing_var_arg = true
    )]
    pub module_and_args: Vec<OsString>,
}

/// How `record` perturbs runs and hunts for a failing one.
#[derive(Debug, Args)]
pub struct HuntOptions {
    /// Perturb, within the WASI contract, what the guest receives: clock readings, short reads
    /// and writes, EINTR/EAGAIN, poll timeouts, random bytes, directory order. Each run picks
    /// its strategies from its seed; with --until-failure, run K's seed derives from SEED
    /// (default: a random one, printed) and K. The trace header records the run's seed and
    /// strategies; `record --chaos=<that seed>` alone picks the same strategies again, unless
    /// they were given with --chaos-strategies (or found by --minimize).
    #[arg(long, value_name = "SEED", num_args = 0..=1, require_equals = true, value_parser = parse_seed, help_heading = "Hunting")]
    pub chaos: Option<Option<u64>>,

    /// With --chaos: use exactly these strategies (comma-separated, or `all`) in every run
    /// instead of a seed-picked subset. Strategies: clock-equal, clock-jump, clock-slow,
    /// clock-fast, realtime-behind, clock-coarse, short-read, short-write, eintr, eagain,
    /// poll-early, poll-late, random-zeros, random-ones, random-repeat, dir-order (`all` is
    /// every one but clock-fast, which excludes clock-slow).
    #[arg(long, value_name = "LIST", requires = "chaos", value_parser = parse_strategies, help_heading = "Hunting")]
    pub chaos_strategies: Option<Strategies>,

    /// With --until-failure: attempts to run at once (default: the number of cores). The
    /// module is compiled once and shared.
    #[arg(short = 'j', long, value_name = "N", requires = "until_failure", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Hunting")]
    pub jobs: Option<u32>,

    /// With --until-failure: stop after K failures instead of the first, keeping each failing
    /// run's trace (the first under the output name, the others as `<stem>-2.deja`, ...).
    #[arg(long, value_name = "K", requires = "until_failure", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Hunting")]
    pub keep: Option<u32>,

    /// With --until-failure: a run whose stdout or stderr matches REGEX has failed.
    #[arg(long, value_name = "REGEX", requires = "until_failure", value_parser = parse_regex, help_heading = "Hunting")]
    pub fail_on_output: Option<regex::Regex>,

    /// With --until-failure: a run that reaches N steps is a hang: it is stopped there and
    /// counted as a failure (its trace replays to that position).
    #[arg(long, value_name = "N", requires = "until_failure", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Hunting")]
    pub fail_after_steps: Option<u64>,

    /// With --until-failure: exit codes that are not failures, besides 0 (comma-separated).
    #[arg(
        long,
        value_name = "LIST",
        requires = "until_failure",
        value_delimiter = ',',
        help_heading = "Hunting"
    )]
    pub ok_exit_codes: Vec<i32>,

    /// With --until-failure and --chaos: once a run fails, find a smallest set of its chaos
    /// strategies that still fails the same way, dropping one strategy at a time and giving
    /// each smaller set up to ATTEMPTS runs (default 20) to fail. Keeps one failing run of the
    /// smallest set as `<stem>-min.deja`.
    #[arg(long, value_name = "ATTEMPTS", num_args = 0..=1, require_equals = true, default_missing_value = "20", requires_all = ["until_failure", "chaos"], value_parser = clap::value_parser!(u32).range(1..), help_heading = "Hunting")]
    pub minimize: Option<u32>,
}

fn parse_seed(s: &str) -> Result<u64, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| format!("`{s}` is not a seed (a decimal or 0x-hex 64-bit number)"))
}

fn parse_strategies(s: &str) -> Result<Strategies, String> {
    Strategies::parse(s)
}

fn parse_regex(s: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(s).map_err(|e| e.to_string())
}

/// `deja replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Print the guest's recorded stdout and stderr as the replay reaches them.
    #[arg(long)]
    pub print_output: bool,

    /// The engine that replays (a trace replays the same on either, whichever recorded it).
    #[arg(long, value_enum, value_name = "ENGINE", default_value_t = EngineChoice::Jit)]
    pub engine: EngineChoice,

    /// The trace.
    #[arg(value_name = "FILE")]
    pub trace: PathBuf,
}

/// `deja info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,

    /// The trace.
    #[arg(value_name = "FILE")]
    pub trace: PathBuf,
}

/// `deja dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,

    /// First record to print.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub from: u64,

    /// Number of records to print (default: all).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// The trace.
    #[arg(value_name = "FILE")]
    pub trace: PathBuf,
}

/// Options shared by every command that executes a guest.
#[derive(Debug, Args)]
pub struct ExecOptions {
    /// Pause and stop after this many steps (executed Wasm instructions).
    #[arg(long, value_name = "N", help_heading = "Execution")]
    pub max_steps: Option<u64>,

    /// Maximum call depth in Wasm frames; one more call traps.
    #[arg(
        long,
        value_name = "FRAMES",
        default_value_t = 20_000,
        help_heading = "Execution"
    )]
    pub max_call_depth: u32,

    /// Do not canonicalize NaNs produced by float arithmetic.
    #[arg(long, help_heading = "Execution")]
    pub no_nan_canonicalization: bool,

    /// The engine that runs the guest: `jit` compiles each function to native code with
    /// Cranelift on its first call (and hands over to the interpreter where a run must stop at
    /// an exact step); `interp` interprets. Both give the same results, traps and step counts.
    /// The interpreter can win on short guests that call much code once (compiling costs more
    /// than the run).
    #[arg(
        long,
        value_enum,
        value_name = "ENGINE",
        default_value_t = EngineChoice::Jit,
        help_heading = "Execution"
    )]
    pub engine: EngineChoice,
}

/// `--engine`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineChoice {
    /// Cranelift-compiled native code.
    Jit,
    /// The interpreter.
    Interp,
}

impl EngineChoice {
    /// The runtime's engine kind.
    pub fn kind(self) -> deja_runtime::EngineKind {
        match self {
            EngineChoice::Jit => deja_runtime::EngineKind::Jit,
            EngineChoice::Interp => deja_runtime::EngineKind::Interp,
        }
    }
}

/// What the guest sees of the host: directories, environment, extra imports.
#[derive(Debug, Args)]
pub struct GuestOptions {
    /// Give the guest a host directory, as GUEST (default: the same path). Repeatable.
    #[arg(
        long = "dir",
        value_name = "HOST[::GUEST]",
        value_parser = OsStringValueParser::new().try_map(utf8),
        help_heading = "Guest environment"
    )]
    pub dirs: Vec<String>,

    /// Like --dir, but the guest may only read. Repeatable.
    #[arg(
        long = "dir-ro",
        value_name = "HOST[::GUEST]",
        value_parser = OsStringValueParser::new().try_map(utf8),
        help_heading = "Guest environment"
    )]
    pub dirs_ro: Vec<String>,

    /// Set an environment variable for the guest. Repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = OsStringValueParser::new().try_map(|s| parse_env(&utf8(s)?)), help_heading = "Guest environment")]
    pub env: Vec<(String, String)>,

    /// Pass the host's whole environment to the guest (before any --env).
    #[arg(long, help_heading = "Guest environment")]
    pub inherit_env: bool,

    /// Provide `bench.start` and `bench.end` (sightglass benchmarks) as no-op imports.
    #[arg(long, help_heading = "Guest environment")]
    pub bench_imports: bool,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

/// `deja run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Call this exported function instead of `_start`; ARGS are its arguments, parsed by its
    /// signature (integers in decimal or 0x-hex, floats, `nan`, `inf`, `null`).
    #[arg(long, value_name = "NAME")]
    pub invoke: Option<String>,

    #[command(flatten)]
    pub exec: ExecOptions,

    #[command(flatten)]
    pub guest: GuestOptions,

    /// The module (a `.wasm` binary or `.wat` text), then the guest's arguments (its argv
    /// after the program name) or, for `run --invoke`, the function's arguments. Everything
    /// after MODULE goes to the guest; a `--` before the arguments is accepted.
    #[arg(
        value_name = "MODULE [-- ARGS]",
        required = true,
        trailing_var_arg = true
    )]
    pub module_and_args: Vec<OsString>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_names_every_chaos_strategy() {
        let mut cmd = Cli::command();
        let record = cmd.find_subcommand_mut("record").unwrap();
        let help = record.render_long_help().to_string().replace('\n', " ");
        for s in deja_runtime::wasi::Strategy::ALL {
            assert!(help.contains(s.name()), "{s} missing from record --help");
        }
    }

    #[test]
    fn accepted_and_rejected_command_lines() {
        let ok: &[&[&str]] = &[
            &["deja", "run", "m.wasm"],
            &["deja", "run", "--invoke", "f", "m.wat", "1", "2"],
            &["deja", "run", "--invoke", "f", "m.wat", "--", "-1"],
            &["deja", "run", "m.wat", "-5"],
            &["deja", "run", "--max-steps", "100", "m.wat"],
            &["deja", "run", "--max-call-depth", "10", "m.wat"],
            &[
                "deja", "run", "--dir", ".", "--dir", "a::/b", "--env", "K=V", "m.wasm", "x",
            ],
            &[
                "deja",
                "run",
                "--dir-ro",
                "data",
                "--inherit-env",
                "--bench-imports",
                "m.wasm",
            ],
            &["deja", "run", "m.wasm", "--", "--dir", "x"],
            &["deja", "record", "m.wasm"],
            &[
                "deja",
                "record",
                "-o",
                "t.deja",
                "--force",
                "--until-failure",
                "200",
                "m.wasm",
                "--",
                "a",
                "-b",
            ],
            &[
                "deja",
                "record",
                "--dir",
                "d::/data",
                "--env",
                "K=V",
                "--max-steps",
                "9",
                "m.wasm",
            ],
            &["deja", "record", "--chaos", "m.wasm"],
            &["deja", "record", "--chaos=0x2a", "m.wasm", "--chaos"],
            &[
                "deja",
                "record",
                "--chaos=7",
                "--chaos-strategies",
                "short-read,clock-equal",
                "m.wasm",
            ],
            &[
                "deja",
                "record",
                "--until-failure",
                "50",
                "--chaos",
                "-j",
                "2",
                "--keep",
                "3",
                "--fail-on-output",
                "panic|assert",
                "--fail-after-steps",
                "1000000",
                "--ok-exit-codes",
                "1,3",
                "--minimize=5",
                "m.wasm",
            ],
            &[
                "deja",
                "record",
                "--until-failure",
                "5",
                "--chaos",
                "--minimize",
                "m.wasm",
            ],
            &["deja", "replay", "t.deja"],
            &["deja", "replay", "--print-output", "t.deja"],
            &["deja", "info", "--json", "t.deja"],
            &[
                "deja", "dump", "--json", "--from", "3", "--count", "2", "t.deja",
            ],
        ];
        for line in ok {
            assert!(Cli::try_parse_from(*line).is_ok(), "should accept {line:?}");
        }
        let bad: &[&[&str]] = &[
            &["deja"],
            &["deja", "run"],
            &["deja", "run", "--max-steps", "many", "m.wat"],
            &["deja", "run", "--max-steps", "-1", "m.wat"],
            &["deja", "frobnicate"],
            &["deja", "run", "--no-such-flag", "m.wat"],
            &["deja", "run", "--env", "NOEQUALS", "m.wat"],
            &["deja", "run", "--env", "=v", "m.wat"],
            &["deja", "run", "--dir"],
            &["deja", "record"],
            &["deja", "record", "--until-failure", "0", "m.wasm"],
            &["deja", "record", "--until-failure", "-3", "m.wasm"],
            &["deja", "record", "--chaos=many", "m.wasm"],
            &[
                "deja",
                "record",
                "--chaos-strategies",
                "short-read",
                "m.wasm",
            ],
            &[
                "deja",
                "record",
                "--chaos",
                "--chaos-strategies",
                "nope",
                "m.wasm",
            ],
            &["deja", "record", "--jobs", "2", "m.wasm"],
            &[
                "deja",
                "record",
                "--until-failure",
                "5",
                "--jobs",
                "0",
                "m.wasm",
            ],
            &["deja", "record", "--keep", "2", "m.wasm"],
            &[
                "deja",
                "record",
                "--until-failure",
                "5",
                "--minimize",
                "m.wasm",
            ],
            &["deja", "record", "--chaos", "--minimize", "m.wasm"],
            &["deja", "record", "--fail-on-output", "x", "m.wasm"],
            &[
                "deja",
                "record",
                "--until-failure",
                "5",
                "--fail-on-output",
                "(",
                "m.wasm",
            ],
            &[
                "deja",
                "record",
                "--until-failure",
                "5",
                "--fail-after-steps",
                "0",
                "m.wasm",
            ],
            &[
                "deja",
                "record",
                "--until-failure",
                "5",
                "--ok-exit-codes",
                "a",
                "m.wasm",
            ],
            &["deja", "replay"],
            &["deja", "replay", "a.deja", "b.deja"],
            &["deja", "dump", "--from", "x", "t.deja"],
            &["deja", "info"],
        ];
        for line in bad {
            assert!(
                Cli::try_parse_from(*line).is_err(),
                "should reject {line:?}"
            );
        }
        let parsed =
            Cli::try_parse_from(["deja", "run", "--invoke", "f", "m.wat", "--", "-1"]).unwrap();
        let Command::Run(args) = parsed.command else {
            panic!("run")
        };
        assert_eq!(args.args().unwrap(), ["-1"]);
        // Flags after the module belong to the guest.
        let parsed = Cli::try_parse_from(["deja", "run", "m.wasm", "--dir", "x"]).unwrap();
        let Command::Run(args) = parsed.command else {
            panic!("run")
        };
        assert_eq!(args.args().unwrap(), ["--dir", "x"]);
        assert!(args.guest.dirs.is_empty());
        let parsed =
            Cli::try_parse_from(["deja", "record", "--dir", "d", "m.wasm", "--", "-a", "b"])
                .unwrap();
        let Command::Record(args) = parsed.command else {
            panic!("record")
        };
        assert_eq!(args.module(), PathBuf::from("m.wasm"));
        assert_eq!(args.args().unwrap(), ["-a", "b"]);
        assert_eq!(args.guest.dirs, ["d"]);
        // `--chaos` takes its seed only after `=`, so the module is never taken for a seed.
        let parsed = Cli::try_parse_from(["deja", "record", "--chaos", "m.wasm", "x"]).unwrap();
        let Command::Record(args) = parsed.command else {
            panic!("record")
        };
        assert_eq!(args.hunt.chaos, Some(None));
        assert_eq!(args.module(), PathBuf::from("m.wasm"));
        let parsed = Cli::try_parse_from([
            "deja",
            "record",
            "--chaos=0x10",
            "--until-failure",
            "3",
            "--ok-exit-codes",
            "1,3",
            "m.wasm",
        ])
        .unwrap();
        let Command::Record(args) = parsed.command else {
            panic!("record")
        };
        assert_eq!(args.hunt.chaos, Some(Some(16)));
        assert_eq!(args.hunt.ok_exit_codes, [1, 3]);
    }
}
