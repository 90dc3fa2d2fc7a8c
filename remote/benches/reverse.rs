//! Reverse-continue latency through `deja serve` against the Session's own, on one trace:
//! `cargo bench -p deja-remote --bench reverse` (`-- --quick` for a short run).
//!
//! Records a guest of 1.4 x 10^8 steps (10^7 calls of `$tick`, one call of `$first` at the
//! start, a trap at the end), then measures reverse continue from the end, in three ways:
//! on a `Session` directly; through the server with a minimal gdb-remote client (`bc` sent,
//! stop reply read); and through `lldb-22` in batch mode (`process continue --reverse` timed
//! by LLDB's own Python, which includes LLDB's work at the stop: the call stack, the frame's
//! values, the source line). Two breakpoints: `$tick`, hit in the last iteration (the cost of
//! one movement near where the user stands), and `$first`, hit only at the start (a search
//! back through the whole run). Each is repeated and the median reported; the far case goes
//! forward to the end again between repetitions. Without lldb-22 the LLDB column is skipped.

use deja_recorder::{Settings, record};
use deja_remote::{MODULE_BASE, Server};
use deja_replayer::runtime::{Config, FuncIndex, Linker, Module, Store};
use deja_replayer::traces::TraceReader;
use deja_replayer::{Session, SessionOptions};
use std::io::{Cursor, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

fn guest(n: u32) -> String {
    format!(
        r#"(module
  (memory (export "memory") 1)
  (func $first (i32.store (i32.const 0) (i32.const 1)))
  (func $tick (param i32) (i32.store (i32.const 8) (local.get 0)))
  (func (export "_start") (local $i i32)
    (call $first)
    (loop $l
      (call $tick (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const {n}))))
    unreachable))"#
    )
}

fn session(bytes: &[u8]) -> Session<Cursor<Vec<u8>>> {
    let reader = TraceReader::new(Cursor::new(bytes.to_vec())).unwrap();
    Session::open(reader, None, SessionOptions::default(), None).unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Where function `def`'s body starts: the address LLDB breaks at by name.
fn body_start(module: &Module, def: usize) -> u32 {
    wasmparser::Parser::new(0)
        .parse_all(module.bytes())
        .filter_map(|p| match p.unwrap() {
            wasmparser::Payload::CodeSectionEntry(body) => Some(body.range().start as u32),
            _ => None,
        })
        .nth(def)
        .unwrap()
}

struct Client(TcpStream);

impl Client {
    fn ask(&mut self, body: &str) -> String {
        let sum = body.bytes().fold(0u8, |a, b| a.wrapping_add(b));
        self.0
            .write_all(format!("${body}#{sum:02x}").as_bytes())
            .unwrap();
        let mut reply = Vec::new();
        let mut b = [0u8];
        loop {
            self.0.read_exact(&mut b).unwrap();
            if b[0] == b'$' {
                break;
            }
        }
        loop {
            self.0.read_exact(&mut b).unwrap();
            if b[0] == b'#' {
                break;
            }
            reply.push(b[0]);
        }
        let mut sum = [0u8; 2];
        self.0.read_exact(&mut sum).unwrap();
        self.0.write_all(b"+").unwrap();
        String::from_utf8(reply).unwrap()
    }
}

/// Serves `clients` clients, one after another, on a free port from a thread; returns the
/// address.
fn serve(bytes: &[u8], clients: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let bytes = bytes.to_vec();
    std::thread::spawn(move || {
        let mut server = Server::new(session(&bytes), "guest.wasm");
        for _ in 0..clients {
            let (stream, _) = listener.accept().unwrap();
            let _ = server.serve_client(stream);
        }
    });
    addr
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (n, reps) = if quick { (200_000, 3) } else { (10_000_000, 5) };
    let module = Module::new(&wat::parse_str(guest(n)).unwrap()).unwrap();
    let mut store = Store::new(Config::default(), ());
    let t = Instant::now();
    let (report, bytes) = record(
        &mut store,
        &Linker::new(),
        &module,
        Vec::new(),
        Settings::new("bench"),
    )
    .unwrap();
    println!(
        "recorded {} steps in {} ({} KiB)",
        report.total_steps,
        ms(t.elapsed()),
        bytes.len() / 1024
    );
    let first = FuncIndex::from_u32(0);
    let tick = FuncIndex::from_u32(1);

    // The Session's own.
    let mut s = session(&bytes);
    let near_session = median(
        (0..reps)
            .map(|_| {
                let id = s.add_breakpoint(tick, None).unwrap();
                let t = Instant::now();
                s.reverse_continue().unwrap();
                let d = t.elapsed();
                s.delete(id);
                d
            })
            .collect(),
    );
    s.seek(s.end()).unwrap();
    let id = s.add_breakpoint(first, None).unwrap();
    let far_session = median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                s.reverse_continue().unwrap();
                let d = t.elapsed();
                s.continue_forward().unwrap();
                d
            })
            .collect(),
    );
    s.delete(id);

    // Through the server, with a minimal client.
    let mut c = Client(TcpStream::connect(serve(&bytes, 1)).unwrap());
    c.0.set_nodelay(true).unwrap();
    c.ask("QStartNoAckMode");
    c.ask("qSupported:multiprocess+;swbreak+");
    let bp = |def| format!("{:x}", MODULE_BASE | u64::from(body_start(&module, def)));
    c.ask(&format!("Z0,{},1", bp(1)));
    let near_protocol = median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                let r = c.ask("bc");
                let d = t.elapsed();
                assert!(r.contains("swbreak"), "{r}");
                c.ask("qWasmCallStack:1");
                d
            })
            .collect(),
    );
    c.ask(&format!("z0,{},1", bp(1)));
    c.ask("c");
    c.ask(&format!("Z0,{},1", bp(0)));
    let far_protocol = median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                let r = c.ask("bc");
                let d = t.elapsed();
                assert!(r.contains("swbreak"), "{r}");
                c.ask("c");
                d
            })
            .collect(),
    );
    drop(c);

    // Through LLDB. A forward continue to the end would stop LLDB's batch mode (it stops at
    // the trap), so each far repetition is a client of its own: the server puts each at the
    // end again.
    let lldb = if Command::new("lldb-22").arg("--version").output().is_ok() {
        let addr = serve(&bytes, reps + 1);
        let run = |cmds: &[String]| {
            let mut command = Command::new("lldb-22");
            command.args(["-b", "-x", "-o"]);
            command.arg(format!("process connect --plugin wasm connect://{addr}"));
            command.args(["-o", "script import time"]);
            for c in cmds {
                command.args(["-o", c]);
            }
            String::from_utf8_lossy(&command.output().unwrap().stdout).into_owned()
        };
        let times = |text: &str, tag: &str| -> Vec<Duration> {
            text.lines()
                .filter_map(|l| l.strip_prefix(tag)?.trim().parse::<f64>().ok())
                .map(Duration::from_secs_f64)
                .collect()
        };
        let timed = |tag: &str| {
            [
                "script t0 = time.time()".to_string(),
                "process continue --reverse".into(),
                format!("script print('{tag}', time.time() - t0)"),
            ]
        };
        let mut cmds = vec!["breakpoint set -n tick".to_string()];
        for _ in 0..reps {
            cmds.extend(timed("NEAR"));
        }
        let text = run(&cmds);
        let near = times(&text, "NEAR");
        assert_eq!(near.len(), reps, "LLDB's timings in:\n{text}");
        let mut far = Vec::new();
        for _ in 0..reps {
            let mut cmds = vec!["breakpoint set -n first".to_string()];
            cmds.extend(timed("FAR"));
            let text = run(&cmds);
            let t = times(&text, "FAR");
            assert_eq!(t.len(), 1, "LLDB's timing in:\n{text}");
            far.extend(t);
        }
        Some((median(near), median(far)))
    } else {
        println!("lldb-22 is not installed: the LLDB column is skipped");
        None
    };

    println!(
        "| reverse continue ({reps} runs, median) | Session | gdb-remote (minimal client) | LLDB |"
    );
    println!("|---|---|---|---|");
    let lldb_col = |v: Option<Duration>| v.map_or("skipped".into(), ms);
    println!(
        "| to `$tick`, hit in the last iteration | {} | {} | {} |",
        ms(near_session),
        ms(near_protocol),
        lldb_col(lldb.map(|l| l.0))
    );
    println!(
        "| to `$first`, hit only at the start | {} | {} | {} |",
        ms(far_session),
        ms(far_protocol),
        lldb_col(lldb.map(|l| l.1))
    );
}
