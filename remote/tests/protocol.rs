//! The gdb-remote protocol as `deja serve` speaks it, driven packet by packet by a small
//! client: what LLDB relies on (tested end to end with the real LLDB in the root crate's
//! `tests/serve.rs`) and what it does not exercise — reverse step, the replay log's ends, read
//! watchpoints refused, malformed packets, interrupts, one client after another.

use deja_recorder::{Settings, record};
use deja_remote::{ClientEnd, MODULE_BASE, Server};
use deja_replayer::runtime::{Config, FuncIndex, Linker, Module, Store};
use deja_replayer::traces::TraceReader;
use deja_replayer::{Session, SessionOptions};
use std::io::{Cursor, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

/// Stores `i` at address 64 through `$store` for i in 0..N, then traps (unreachable). The call
/// is the last instruction of a `block`, so its return address is the block's `end`, which is
/// not a step.
fn guest(n: u32, end: &str) -> String {
    format!(
        r#"(module
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 7))
  (func $store (param i32)
    (i32.store (i32.const 64) (local.get 0)))
  (func (export "_start") (local $i i32)
    (loop $l
      (block (call $store (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const {n}))))
    {end}))"#
    )
}

fn trace(wat: &str) -> (Module, Vec<u8>) {
    let module = Module::new(&wat::parse_str(wat).unwrap()).unwrap();
    let mut store = Store::new(Config::default(), ());
    let (_, bytes) = record(
        &mut store,
        &Linker::new(),
        &module,
        Vec::new(),
        Settings::new("test"),
    )
    .unwrap();
    (module, bytes)
}

fn session(bytes: &[u8]) -> Session<Cursor<Vec<u8>>> {
    let reader = TraceReader::new(Cursor::new(bytes.to_vec())).unwrap();
    Session::open(reader, None, SessionOptions::default(), None).unwrap()
}

/// A server on a free port serving `clients` clients, one after another, in a thread.
fn serve(bytes: &[u8], at_start: bool, clients: usize) -> (String, JoinHandle<Vec<ClientEnd>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let bytes = bytes.to_vec();
    let handle = std::thread::spawn(move || {
        // A session is not `Send`: it is opened where it is served.
        let mut session = session(&bytes);
        if at_start {
            session.seek(session.start()).unwrap();
        }
        let mut server = Server::new(session, "guest.wasm");
        (0..clients)
            .map(|_| {
                let (stream, _) = listener.accept().unwrap();
                server.serve_client(stream).expect("serving the client")
            })
            .collect()
    });
    (addr, handle)
}

/// A minimal gdb-remote client: acknowledgements until `no_ack`, RLE-decoded replies.
struct Client {
    s: TcpStream,
    no_ack: bool,
}

impl Client {
    fn connect(addr: &str) -> Client {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        Client { s, no_ack: false }
    }

    fn byte(&mut self) -> u8 {
        let mut b = [0u8];
        self.s.read_exact(&mut b).expect("the server answers");
        b[0]
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    fn packet(body: &str) -> Vec<u8> {
        let sum = body.bytes().fold(0u8, |a, b| a.wrapping_add(b));
        format!("${body}#{sum:02x}").into_bytes()
    }

    /// Sends a packet and returns the reply's body.
    fn ask(&mut self, body: &str) -> String {
        self.send_raw(&Self::packet(body));
        if !self.no_ack {
            assert_eq!(self.byte(), b'+', "the server acknowledges {body:?}");
        }
        self.reply()
    }

    /// Reads one reply packet (acknowledging it) and returns its body, RLE-decoded.
    fn reply(&mut self) -> String {
        loop {
            let b = self.byte();
            if b == b'$' {
                break;
            }
            assert_eq!(b, b'+', "stray byte {b:#x} before a reply");
        }
        let mut raw = Vec::new();
        loop {
            let b = self.byte();
            if b == b'#' {
                break;
            }
            raw.push(b);
        }
        let (c1, c2) = (self.byte(), self.byte());
        let sum = raw.iter().fold(0u8, |a, b| a.wrapping_add(*b));
        assert_eq!(
            format!("{sum:02x}"),
            String::from_utf8_lossy(&[c1, c2]),
            "checksum"
        );
        if !self.no_ack {
            self.send_raw(b"+");
        }
        let mut body = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'*' && i + 1 < raw.len() {
                let last = *body.last().unwrap();
                for _ in 0..raw[i + 1] - 29 {
                    body.push(last);
                }
                i += 2;
            } else {
                body.push(raw[i]);
                i += 1;
            }
        }
        String::from_utf8(body).unwrap()
    }
}

/// The `description` of a stop reply, decoded.
fn description(reply: &str) -> Option<String> {
    let hex = reply
        .split(';')
        .find_map(|kv| kv.strip_prefix("description:"))?;
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap())
        .collect();
    String::from_utf8(bytes).ok()
}

fn hex_u64s(s: &str) -> Vec<u64> {
    (0..s.len() / 16)
        .map(|i| {
            let mut b = [0u8; 8];
            for (j, byte) in b.iter_mut().enumerate() {
                let k = i * 16 + j * 2;
                *byte = u8::from_str_radix(&s[k..k + 2], 16).unwrap();
            }
            u64::from_le_bytes(b)
        })
        .collect()
}

fn hex_u32(v: u32) -> String {
    v.to_le_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Where function `def`'s body starts (after its size).
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

/// Module offsets of `_start`'s `call` and of `$store`'s `i32.store`.
fn pcs(module: &Module) -> (u32, u32) {
    let bytes = module.bytes();
    let start = FuncIndex::from_u32(1);
    let call = module
        .instruction_pcs(start)
        .into_iter()
        .find(|pc| bytes[*pc as usize] == 0x10)
        .unwrap();
    let store = module
        .instruction_pcs(FuncIndex::from_u32(0))
        .into_iter()
        .find(|pc| bytes[*pc as usize] == 0x36)
        .unwrap();
    (call, store)
}

#[test]
fn queries_frames_values_memory_and_the_module_image() {
    let (module, bytes) = trace(&guest(5, "unreachable"));
    let (addr, server) = serve(&bytes, false, 1);
    let mut c = Client::connect(&addr);
    let features = c.ask("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386");
    for f in [
        "ReverseContinue+",
        "ReverseStep+",
        "qXfer:libraries:read+",
        "swbreak+",
    ] {
        assert!(features.contains(f), "{f} in {features}");
    }
    // At the trap: a stop with the pc and the trap as its description.
    let halt = c.ask("?");
    assert!(halt.starts_with("T05thread:p01.01;00:"), "{halt}");
    assert_eq!(
        description(&halt).as_deref(),
        Some("wasm trap: unreachable")
    );
    let stack = hex_u64s(&c.ask("qWasmCallStack:1"));
    assert_eq!(stack.len(), 1, "only _start is on the stack");
    assert_eq!(stack[0] >> 62, 1, "a code address");
    let halt_pc = u64::from_str_radix(&halt[20..36], 16).unwrap();
    assert_eq!(halt_pc.swap_bytes(), stack[0], "? and the call stack agree");
    assert_eq!(module.bytes()[(stack[0] & 0xffff_ffff) as usize], 0x00);
    // Local 0 of _start ($i), global 0, a missing local.
    assert_eq!(c.ask("qWasmLocal:0;0"), hex_u32(5));
    assert_eq!(c.ask("qWasmGlobal:0;0"), hex_u32(7));
    assert_eq!(c.ask("qWasmLocal:0;9"), "");
    assert_eq!(c.ask("qWasmLocal:3;0"), "");
    // The module image, then memory 0.
    assert_eq!(c.ask("m4000000000000000,4"), "0061736d");
    assert_eq!(c.ask("m40,4"), hex_u32(4));
    assert!(c.ask("m4000000100000000,4").starts_with('E'), "no module 1");
    assert!(
        c.ask("mc000000000000000,4").starts_with('E'),
        "an invalid type"
    );
    assert!(
        c.ask("m4000000000100000,4").starts_with('E'),
        "past the image"
    );
    assert!(
        c.ask("M40,4:00000000").starts_with('E'),
        "a trace is read-only"
    );
    let host = c.ask("qHostInfo");
    let triple: String = b"wasm32-unknown-unknown-wasm"
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(host.contains(&triple), "{host}");
    assert!(c.ask("qProcessInfo").contains(&triple));
    let libraries = c.ask("qXfer:libraries:read::0,ffff");
    assert!(
        libraries.contains(&format!(
            "<library name=\"guest.wasm\"><section address=\"{MODULE_BASE:#x}\"/>"
        )),
        "{libraries}"
    );
    assert!(c.ask("qRegisterInfo0").contains("generic:pc"));
    assert!(c.ask("p0").len() == 16);
    drop(c);
    assert_eq!(server.join().unwrap(), vec![ClientEnd::Disconnected]);
}

#[test]
fn breakpoints_watchpoints_and_both_directions() {
    let (module, bytes) = trace(&guest(5, "unreachable"));
    let (call, store) = pcs(&module);
    let (addr, server) = serve(&bytes, false, 1);
    let mut c = Client::connect(&addr);
    c.ask("qSupported:multiprocess+;swbreak+");
    let i = |c: &mut Client| c.ask("qWasmLocal:0;0");
    let top = |c: &mut Client| hex_u64s(&c.ask("qWasmCallStack:1"))[0] & 0xffff_ffff;

    // A breakpoint at the call, reached backward from the trap: the last iteration first.
    let bp = format!("{:x}", MODULE_BASE | u64::from(call));
    assert!(c.ask(&format!("Z0,{bp},1")) == "OK");
    assert!(c.ask("bc").contains("swbreak:"));
    assert_eq!(top(&mut c), u64::from(call));
    assert_eq!(i(&mut c), hex_u32(4));
    // The call's argument is on the operand stack.
    assert_eq!(c.ask("qWasmStackValue:0;0"), hex_u32(4));
    assert_eq!(c.ask("qWasmStackValue:0;1"), "");
    assert!(c.ask("bc").contains("swbreak:"));
    assert_eq!(i(&mut c), hex_u32(3));
    // Forward again to the next hit.
    assert!(c.ask("c").contains("swbreak:"));
    assert_eq!(i(&mut c), hex_u32(4));
    // At an address that is not a step (the block's `end` after the call, where LLDB's
    // `finish` puts its breakpoint): it stops at the next step, shown at that address.
    let ret = MODULE_BASE | u64::from(call + 2);
    assert_eq!(module.bytes()[call as usize + 2], 0x0b, "the block's end");
    assert_eq!(c.ask(&format!("Z0,{ret:x},1")), "OK");
    assert_eq!(c.ask(&format!("z0,{bp},1")), "OK");
    let hit = c.ask("c");
    assert!(hit.contains("swbreak:"), "{hit}");
    assert_eq!(hex_u64s(&c.ask("qWasmCallStack:1"))[0], ret);
    assert_eq!(c.ask(&format!("z0,{ret:x},1")), "OK");
    assert!(
        top(&mut c) > u64::from(call + 2),
        "the real pc once the breakpoint is gone"
    );
    assert_eq!(c.ask(&format!("Z0,{bp},1")), "OK");
    assert!(c.ask("bc").contains("swbreak:"));
    assert_eq!(i(&mut c), hex_u32(4));
    assert_eq!(c.ask(&format!("z0,{bp},1")), "OK");

    // A step forward enters $store; a reverse step comes back to the call.
    let stepped = c.ask("s");
    assert!(stepped.starts_with("T05thread:"), "{stepped}");
    let stack = hex_u64s(&c.ask("qWasmCallStack:1"));
    assert_eq!(stack.len(), 2);
    assert_eq!(
        stack[1] & 0xffff_ffff,
        u64::from(call) + 2,
        "the caller's frame shows the return address"
    );
    assert!(c.ask("bs").starts_with("T05thread:"));
    assert_eq!(top(&mut c), u64::from(call));

    // A write watchpoint on address 64: backward it stops at the store, before the write
    // (the old value still there); forward right after it.
    assert_eq!(c.ask("Z2,40,4"), "OK");
    assert!(
        c.ask("Z3,40,4").starts_with('E'),
        "read watchpoints are not supported"
    );
    assert!(
        c.ask("Z4,40,4").starts_with('E'),
        "access watchpoints are not supported"
    );
    let back = c.ask("bc");
    assert!(back.contains("watch:40;"), "{back}");
    assert_eq!(top(&mut c), u64::from(store));
    assert_eq!(c.ask("m40,4"), hex_u32(2));
    let fwd = c.ask("c");
    assert!(fwd.contains("watch:40;"), "{fwd}");
    assert_eq!(c.ask("m40,4"), hex_u32(3));
    assert_eq!(c.ask("z2,40,4"), "OK");

    // At a function's symbol address (its body, before the locals declaration), as LLDB
    // sets a breakpoint by name without DWARF: the stop is at its first instruction, shown at
    // that address while the breakpoint exists.
    let body = body_start(&module, 0);
    let entry = format!("{:x}", MODULE_BASE | u64::from(body));
    assert_eq!(c.ask(&format!("Z0,{entry},1")), "OK");
    let hit = c.ask("bc");
    assert!(hit.contains("swbreak:"), "{hit}");
    assert_eq!(top(&mut c), u64::from(body));
    assert_eq!(c.ask(&format!("z0,{entry},1")), "OK");
    assert!(
        top(&mut c) > u64::from(body),
        "the real pc once the breakpoint is gone"
    );

    // To the trap forward, then the end of the log; to the start backward.
    let trap = c.ask("c");
    assert!(trap.starts_with("T05"), "{trap}");
    assert!(description(&trap).unwrap().starts_with("wasm trap: "));
    assert!(c.ask("c").contains("replaylog:end;"));
    assert!(c.ask("s").contains("replaylog:end;"));
    assert!(c.ask("bc").contains("replaylog:begin;"));
    assert!(c.ask("bs").contains("replaylog:begin;"));
    drop(c);
    assert_eq!(server.join().unwrap(), vec![ClientEnd::Disconnected]);
}

#[test]
fn malformed_and_unknown_packets_get_error_replies() {
    let (_, bytes) = trace(&guest(3, "unreachable"));
    let (addr, server) = serve(&bytes, false, 1);
    let mut c = Client::connect(&addr);
    c.ask("qSupported:multiprocess+;swbreak+");
    let threads = c.ask("qfThreadInfo");
    assert_eq!(threads, "mp01.01");
    // A bad checksum is refused with `-`, and the stub goes on.
    c.send_raw(b"$qWasmLocal:0;0#00");
    assert_eq!(c.byte(), b'-');
    assert_eq!(c.ask("qFooBar"), "", "unknown packets are unsupported");
    for bad in [
        "qWasmLocal:zz",
        "qWasmLocal:",
        "mzz,4",
        "m40",
        "Z0,zz,1",
        "Z2,40",
        "z0,4000000000000000,1",
        "Hgzz",
        "qXfer:libraries:read::zz",
    ] {
        let reply = c.ask(bad);
        assert!(
            reply.is_empty() || reply.starts_with('E'),
            "{bad}: {reply:?}"
        );
    }
    // Still answering, with what was negotiated before (multiprocess thread ids).
    assert_eq!(c.ask("qWasmLocal:0;0"), hex_u32(3));
    assert_eq!(c.ask("qfThreadInfo"), threads);
    // A stray `-` (a request to resend) and bytes outside packets are ignored.
    c.send_raw(b"-xyz\r\n");
    assert_eq!(c.ask("qWasmGlobal:0;0"), hex_u32(7));

    // Without acknowledgements, as LLDB runs: a packet the stub cannot parse, a damaged one
    // and one too long for its buffer each get an error reply, and what was negotiated
    // (no acknowledgements, multiprocess ids) survives the fresh stub.
    assert_eq!(c.ask("QStartNoAckMode"), "OK");
    c.no_ack = true;
    assert!(c.ask("qWasmLocal:zz").starts_with('E'));
    assert_eq!(c.ask("qfThreadInfo"), threads);
    c.send_raw(b"$qWasmLocal:0;0#00");
    assert!(c.reply().starts_with('E'), "a damaged packet");
    let mut long = b"$qWasmLocal:".to_vec();
    long.extend(std::iter::repeat_n(b'0', 70_000));
    long.extend(b"#00");
    c.send_raw(&long);
    assert!(c.reply().starts_with('E'), "a packet too long");
    assert_eq!(c.ask("qWasmLocal:0;0"), hex_u32(3));
    assert_eq!(c.ask("qfThreadInfo"), threads);
    drop(c);
    assert_eq!(server.join().unwrap(), vec![ClientEnd::Disconnected]);
}

#[test]
fn an_interrupt_stops_a_long_continue() {
    let (_, bytes) = trace(&guest(20_000_000, "unreachable"));
    let (addr, server) = serve(&bytes, true, 1);
    let mut c = Client::connect(&addr);
    c.ask("qSupported:multiprocess+");
    c.send_raw(&Client::packet("c"));
    assert_eq!(c.byte(), b'+');
    std::thread::sleep(Duration::from_millis(100));
    // An acknowledgement before the interrupt does not hide it.
    c.send_raw(b"+");
    std::thread::sleep(Duration::from_millis(50));
    c.send_raw(&[0x03]);
    let stop = c.reply();
    assert!(stop.starts_with("T02thread:"), "SIGINT: {stop}");
    // Stopped somewhere in the loop, not at its end.
    let i = u32::from_le_bytes(
        (0..4)
            .map(|k| u8::from_str_radix(&c.ask("qWasmLocal:0;0")[k * 2..k * 2 + 2], 16).unwrap())
            .collect::<Vec<_>>()
            .try_into()
            .unwrap(),
    );
    assert!(i > 0 && i < 20_000_000, "interrupted at i = {i}");
    drop(c);
    assert_eq!(server.join().unwrap(), vec![ClientEnd::Disconnected]);
}

#[test]
fn each_client_starts_where_serving_began_without_the_last_ones_stop_points() {
    let (module, bytes) = trace(&guest(5, "unreachable"));
    let (call, _) = pcs(&module);
    let (addr, server) = serve(&bytes, true, 2);
    let bp = format!("{:x}", MODULE_BASE | u64::from(call));

    let mut first = Client::connect(&addr);
    first.ask("qSupported:multiprocess+;swbreak+");
    let home = first.ask("?");
    assert!(home.starts_with("T05"), "a plain stop at the start: {home}");
    assert_eq!(first.ask(&format!("Z0,{bp},1")), "OK");
    assert!(first.ask("c").contains("swbreak:"));
    assert!(first.ask("c").contains("swbreak:"));
    drop(first);

    let mut second = Client::connect(&addr);
    second.ask("qSupported:multiprocess+;swbreak+");
    assert_eq!(second.ask("?"), home, "back where serving began");
    let trap = second.ask("c");
    assert!(
        description(&trap).is_some(),
        "no breakpoint left: straight to the trap: {trap}"
    );
    drop(second);
    assert_eq!(
        server.join().unwrap(),
        vec![ClientEnd::Disconnected, ClientEnd::Disconnected]
    );
}

#[test]
fn an_exit_is_reported_as_the_exit_status_and_ends_the_client() {
    let (_, bytes) = trace(&guest(3, ""));
    let (addr, server) = serve(&bytes, true, 1);
    let mut c = Client::connect(&addr);
    c.ask("qSupported:multiprocess+");
    assert_eq!(c.ask("c"), "W00");
    drop(c);
    assert_eq!(server.join().unwrap(), vec![ClientEnd::Exited(0)]);
}
