//! The `deja` command: parses arguments, dispatches to a library, maps the result to an exit
//! code. All real work lives in the workspace's crates.

#![forbid(unsafe_code)]

mod cli;
mod debug;
mod exit;
mod hunt;
mod inspect;
mod minimize;
mod progress;
mod record;
mod replay;
mod run;
mod serve;
mod signals;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Run(args) => run::run(&args),
        cli::Command::Record(args) => record::record(&args),
        cli::Command::Replay(args) => replay::replay(&args),
        cli::Command::Info(args) => inspect::info(&args),
        cli::Command::Dump(args) => inspect::dump(&args),
        cli::Command::Debug(args) => debug::debug(&args),
        cli::Command::Serve(args) => serve::serve(&args),
    };
    exit::report(result)
}
