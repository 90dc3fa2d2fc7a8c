//! Command-line definitions (clap derive).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Exit codes:
  0    the guest finished (a WASI guest's own exit code is passed through)
  2    usage error (bad flags or arguments)
  110  internal error (a bug in deja)
  111  a file could not be read
  112  the module does not parse (WebAssembly text syntax or binary encoding)
  113  the module is invalid or uses an unsupported proposal
  114  the module's imports cannot be satisfied
  115  the step budget (--max-steps) ran out
  116  the call stack was exhausted (too deep recursion)
  117  a host function failed
  118  replay diverged from the recording
  119  the trace cannot be read (damaged, not a trace, newer format, altered module)
  120  replay stopped at the end of a truncated trace (it matched up to there)
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
    /// Run a WebAssembly module (binary or text) on deja's interpreter.
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
}

/// `deja debug`.
#[derive(Debug, Args)]
pub struct DebugArgs {
    /// Read commands from FILE (`-` for stdin), one per line, and print one result per line.
    #[arg(long, value_name = "FILE")]
    pub batch: Option<String>,

    /// With --batch: one JSON object per result.
    #[arg(long, requires = "batch")]
    pub json: bool,

    /// Where to start: `start`, `end` (default: where a failure is) or a position.
    #[arg(long, value_name = "start|end|POSITION")]
    pub at: Option<String>,

    /// Memory the checkpoints may use, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 224)]
    pub checkpoint_budget: usize,

    /// Where to look for the source files named by the module's debug info (DWARF), besides
    /// where it says they are, the trace's directory and the current directory. Repeatable
    #[arg(long, value_name = "DIR")]
    pub source_dir: Vec<PathBuf>,

    /// The trace.
    #[arg(value_name = "FILE")]
    pub trace: PathBuf,
}

/// The arguments after the module (a leading `--` dropped).
fn guest_args(module_and_args: &[String]) -> &[String] {
    match module_and_args.get(1).map(String::as_str) {
        Some("--") => &module_and_args[2..],
        _ => &module_and_args[1..],
    }
}

macro_rules! module_and_args {
    ($t:ty) => {
        impl $t {
            /// The module path.
            pub fn module(&self) -> PathBuf {
                PathBuf::from(&self.module_and_args[0])
            }

            /// The guest's arguments.
            pub fn args(&self) -> &[String] {
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

    /// Run the guest up to N times and keep only the trace of the first run that exits
    /// non-zero or traps.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Trace")]
    pub until_failure: Option<u32>,

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
    pub module_and_args: Vec<String>,
}

/// `deja replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Print the guest's recorded stdout and stderr as the replay reaches them.
    #[arg(long)]
    pub print_output: bool,

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
}

/// What the guest sees of the host: directories, environment, extra imports.
#[derive(Debug, Args)]
pub struct GuestOptions {
    /// Give the guest a host directory, as GUEST (default: the same path). Repeatable.
    #[arg(
        long = "dir",
        value_name = "HOST[::GUEST]",
        help_heading = "Guest environment"
    )]
    pub dirs: Vec<String>,

    /// Like --dir, but the guest may only read. Repeatable.
    #[arg(
        long = "dir-ro",
        value_name = "HOST[::GUEST]",
        help_heading = "Guest environment"
    )]
    pub dirs_ro: Vec<String>,

    /// Set an environment variable for the guest. Repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env, help_heading = "Guest environment")]
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
    pub module_and_args: Vec<String>,
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
            &["deja", "replay"],
            &["deja", "replay", "a.deja", "b.deja"],
            &["deja", "dump", "--from", "x", "t.deja"],
            &["deja", "info"],
            &["deja", "debug", "--json", "t.deja"],
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
        assert_eq!(args.args(), ["-1"]);
        // Flags after the module belong to the guest.
        let parsed = Cli::try_parse_from(["deja", "run", "m.wasm", "--dir", "x"]).unwrap();
        let Command::Run(args) = parsed.command else {
            panic!("run")
        };
        assert_eq!(args.args(), ["--dir", "x"]);
        assert!(args.guest.dirs.is_empty());
        let parsed =
            Cli::try_parse_from(["deja", "record", "--dir", "d", "m.wasm", "--", "-a", "b"])
                .unwrap();
        let Command::Record(args) = parsed.command else {
            panic!("record")
        };
        assert_eq!(args.module(), PathBuf::from("m.wasm"));
        assert_eq!(args.args(), ["-a", "b"]);
        assert_eq!(args.guest.dirs, ["d"]);
    }
}
