//! `deja debug`: open a time-travel session on a trace.

use crate::cli::DebugArgs;
use crate::exit::Failure;
use crate::replay::open;
use crate::signals::Interrupt;
use deja_replayer::{Session, SessionOptions};
use std::io::BufReader;

/// A session's progress report: a bar on a terminal (see `progress`); cancels once SIGINT
/// arrived, if its handler is installed.
fn progress(what: &str, interrupt: Option<&Interrupt>) -> deja_replayer::Progress {
    let mut bar = crate::progress::Bar::new(what);
    let flag = interrupt.map(|i| i.flag.clone());
    Box::new(move |done, total| {
        bar.update(done, total, format!("{done} of {total} steps"));
        !flag
            .as_ref()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst))
    })
}

/// The position `--at` names: `None` for the end (where a failure is).
pub fn at_position(at: Option<&str>) -> Result<Option<u64>, Failure> {
    match at {
        None | Some("end") => Ok(None),
        Some("start") => Ok(Some(0)),
        Some(p) => deja_tui::batch::parse_number(p)
            .map(Some)
            .map_err(|e| Failure::Usage(format!("--at takes start, end or a position: {e}"))),
    }
}

/// Runs the terminal UI.
fn interactive(args: &DebugArgs, options: SessionOptions) -> Result<(), Failure> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Failure::Usage(
            "deja debug needs a terminal; use --batch FILE (or - for stdin) in scripts".into(),
        ));
    }
    let reader = open(&args.trace)?;
    let at = at_position(args.at.as_deref())?;
    let mut source_dirs = args.source_dir.clone();
    if let Some(dir) = args.trace.parent() {
        source_dirs.push(std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()));
    }
    if let Ok(cwd) = std::env::current_dir() {
        source_dirs.push(cwd);
    }
    let (commands, replies, cancel) = deja_tui::worker::spawn(
        reader,
        Some(deja_runtime::wasi::pending_output),
        options,
        at,
        source_dirs,
    );
    deja_tui::terminal::run(commands, replies, &cancel)?;
    Ok(())
}

/// Opens a session on the trace at `path` and moves it to `at` (`start`, `end` or a position;
/// by default the end, where a failure is).
///
/// Opening replays the whole trace once: a progress bar shows it (see `progress`), and SIGINT
/// cancels it (exit 130) when `interrupt` is given (without, SIGINT ends the process).
pub fn open_session(
    path: &std::path::Path,
    options: SessionOptions,
    at: Option<&str>,
    interrupt: Option<&Interrupt>,
) -> Result<Session, Failure> {
    let raised = || interrupt.is_some_and(Interrupt::raised);
    let at = at_position(at)?;
    let reader = open(path)?;
    let mut session = Session::open(
        reader,
        Some(deja_runtime::wasi::pending_output),
        options,
        Some(progress("opening the trace", interrupt)),
    )
    .map_err(|e| Failure::Message {
        message: match interrupt {
            Some(i) if raised() => format!("{} while opening {}", i.name(), path.display()),
            _ => format!("{}: {e}", path.display()),
        },
        code: match (e, interrupt) {
            (_, Some(i)) if raised() => i.exit_code(),
            (deja_replayer::Error::Diverged(_), _) => 118,
            _ => 119,
        },
    })?;
    session.set_progress(None);
    if let Some(p) = at {
        session.seek(p).map_err(|e| Failure::Message {
            message: e.to_string(),
            code: 118,
        })?;
    }
    Ok(session)
}

/// Runs the command.
pub fn debug(args: &DebugArgs) -> Result<(), Failure> {
    let options = SessionOptions {
        checkpoint_budget: args.checkpoint_budget << 20,
        engine: args.engine.kind(),
        ..SessionOptions::default()
    };
    let Some(batch) = &args.batch else {
        if args.json {
            return Err(Failure::Usage(
                "--json formats the results of --batch; add --batch FILE (or --batch - for \
                 commands on stdin)"
                    .into(),
            ));
        }
        return interactive(args, options);
    };
    let interrupt = Interrupt::install()?;
    let mut session = open_session(&args.trace, options, args.at.as_deref(), Some(&interrupt))?;
    let out = std::io::stdout().lock();
    let mut make = || progress("moving", Some(&interrupt));
    let failed = if batch == "-" {
        deja_tui::batch::run(
            &mut session,
            std::io::stdin().lock(),
            out,
            args.json,
            Some(&mut make),
            &|| interrupt.raised(),
        )?
    } else {
        let file = std::fs::File::open(batch).map_err(|e| Failure::Message {
            message: format!("cannot read {batch}: {e}"),
            code: 111,
        })?;
        deja_tui::batch::run(
            &mut session,
            BufReader::new(file),
            out,
            args.json,
            Some(&mut make),
            &|| interrupt.raised(),
        )?
    };
    if interrupt.raised() {
        // The cancelled movement's result line says where it stopped.
        eprintln!("deja: {}: the batch stopped", interrupt.name());
        return Err(Failure::Silent(interrupt.exit_code()));
    }
    if failed > 0 {
        // Each failure was reported in its own result line.
        return Err(Failure::Silent(1));
    }
    Ok(())
}
