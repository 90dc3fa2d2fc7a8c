//! `deja serve`: a trace served to LLDB over gdb-remote.

use crate::cli::ServeArgs;
use crate::debug::open_session;
use crate::exit::Failure;
use deja_remote::{ClientEnd, Server};
use deja_replayer::SessionOptions;
use std::io::Write;
use std::net::TcpListener;

/// The name LLDB shows for the module: the file name the guest was recorded as, else the
/// trace's.
fn module_name(session_args: &[String], trace: &std::path::Path) -> String {
    let recorded = session_args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty());
    recorded.unwrap_or_else(|| {
        let stem = trace
            .file_stem()
            .map_or("guest".into(), |s| s.to_string_lossy());
        format!("{stem}.wasm")
    })
}

/// Runs the command.
pub fn serve(args: &ServeArgs) -> Result<(), Failure> {
    // Bad arguments fail before the trace is replayed (which takes as long as the run).
    crate::debug::at_position(args.at.as_deref())?;
    let header_args = crate::replay::open(&args.trace)?.header().args.clone();
    let options = SessionOptions {
        checkpoint_budget: args.checkpoint_budget << 20,
        engine: args.engine.kind(),
        ..SessionOptions::default()
    };
    let listener = TcpListener::bind(&args.listen).map_err(|e| Failure::Message {
        message: format!("cannot listen on {}: {e}", args.listen),
        code: 111,
    })?;
    let session = open_session(&args.trace, options, args.at.as_deref(), None)?;
    let addr = listener.local_addr()?;
    let where_ = match session.outcome() {
        Some(outcome) => format!("{outcome}"),
        None => "truncated trace".into(),
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "deja: serving {} at position {} of {} (the run {where_})",
        args.trace.display(),
        session.position(),
        session.end(),
    )?;
    writeln!(
        out,
        "deja: connect with: lldb-22 -o 'process connect --plugin wasm connect://{addr}'"
    )?;
    out.flush()?;
    drop(out);
    let mut server = Server::new(session, module_name(&header_args, &args.trace));
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors, say: wait a little rather than spin.
                eprintln!("deja: accepting a client failed: {e}");
                std::thread::sleep(std::time::Duration::from_millis(200));
                continue;
            }
        };
        let peer = stream
            .peer_addr()
            .map_or_else(|_| "a client".to_string(), |a| a.to_string());
        eprintln!("deja: {peer} connected");
        match server.serve_client(stream) {
            Ok(end) => eprintln!(
                "deja: {peer} {}",
                match end {
                    ClientEnd::Disconnected => "disconnected".to_string(),
                    ClientEnd::Killed => "killed the process and disconnected".to_string(),
                    ClientEnd::Exited(code) => format!("saw the guest exit with {code}"),
                    ClientEnd::Terminated(sig) => format!("saw the guest terminated by {sig}"),
                }
            ),
            Err(e) => eprintln!("deja: {peer} dropped: {e}"),
        }
        if args.once {
            break;
        }
        eprintln!("deja: ready for the next client on {addr}");
    }
    Ok(())
}
