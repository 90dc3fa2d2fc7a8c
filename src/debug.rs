//! `deja debug`: open a time-travel session on a trace.

use crate::cli::DebugArgs;
use crate::exit::Failure;
use crate::replay::open;
use deja_replayer::{Session, SessionOptions};
use std::io::BufReader;

/// Runs the command.
pub fn debug(args: &DebugArgs) -> Result<(), Failure> {
    let Some(batch) = &args.batch else {
        return Err(Failure::Usage(
            "the terminal UI is not built yet; use --batch FILE (or - for stdin)".into(),
        ));
    };
    let reader = open(&args.trace)?;
    let options = SessionOptions {
        checkpoint_budget: args.checkpoint_budget << 20,
        ..SessionOptions::default()
    };
    let mut session = Session::open(
        reader,
        Some(deja_runtime::wasi::pending_output),
        options,
        None,
    )
    .map_err(|e| Failure::Message {
        message: format!("{}: {e}", args.trace.display()),
        code: match e {
            deja_replayer::Error::Diverged(_) => 118,
            _ => 119,
        },
    })?;
    match args.at.as_deref() {
        None | Some("end") => {}
        Some("start") => {
            session
                .seek(session.start())
                .map_err(|e| Failure::Message {
                    message: e.to_string(),
                    code: 118,
                })?;
        }
        Some(p) => {
            let p = deja_tui::batch::parse_number(p).map_err(Failure::Usage)?;
            session.seek(p).map_err(|e| Failure::Message {
                message: e.to_string(),
                code: 118,
            })?;
        }
    }
    let out = std::io::stdout().lock();
    if batch == "-" {
        deja_tui::batch::run(&mut session, std::io::stdin().lock(), out, args.json)?;
    } else {
        let file = std::fs::File::open(batch).map_err(|e| Failure::Message {
            message: format!("cannot read {batch}: {e}"),
            code: 111,
        })?;
        deja_tui::batch::run(&mut session, BufReader::new(file), out, args.json)?;
    }
    Ok(())
}
