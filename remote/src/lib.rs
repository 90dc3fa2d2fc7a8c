//! `deja serve`: a recorded trace served to LLDB over gdb-remote, in both directions.
//!
//! # How it works
//! The server is a front end over the replayer's [`Session`], like the terminal UI: it sees
//! only the session's public API and never changes the guest's state, so every movement LLDB
//! asks for is one the session already knows how to make exactly — forward or reverse continue
//! to a stop point, a step, the start or the end of the run.
//!
//! The protocol is the `gdbstub` crate's, with LLDB's WebAssembly extension
//! (`gdbstub_arch::wasm`): one synthetic 64-bit address space in which the top two bits tell
//! code from data, the next thirty name a module or a linear memory and the low 32 bits are an
//! offset ([`gdbstub_arch::wasm::addr::WasmAddr`]). The module image is served at
//! `0x4000000000000000` (module 0, with its custom sections, so LLDB reads the DWARF from the
//! server), memory 0 at address 0. Program counters are module-relative byte offsets in the
//! code space — the same offsets DWARF line tables of a Wasm module use, after LLDB adds the
//! code section's position. LLDB reads the call stack, locals, operand-stack values and
//! globals with `qWasmCallStack`, `qWasmLocal`, `qWasmStackValue` and `qWasmGlobal`, and
//! evaluates the DWARF itself.
//!
//! # Time
//! A breakpoint (`Z0`) is a session breakpoint at that instruction; a write watchpoint (`Z2`)
//! a session watchpoint (read and access watchpoints are refused: the runtime sees writes
//! only). `c` and `s` continue and step forward, `bc` and `bs` backward, and each stops where
//! the session's movement stops — except that a write found backward is shown where it
//! happens, on the writing instruction with the old value still in memory, as gdb with rr
//! shows it (the session stops right after the write, as it does going forward).
//!
//! The two ends of the trace are where the replay log begins and ends
//! (`replaylog:begin`/`end`, which LLDB reports as a history boundary), except that a forward
//! movement that reaches the guest's own end reports it: an exit as the exit status (`W`,
//! which ends the client's process), a trap or a failed host call as a `SIGTRAP` stop whose
//! description is the fault (`wasm trap: integer divide by zero`), which LLDB shows as the
//! stop reason. Not `SIGFPE` or `SIGSEGV` as a native process would get: LLDB passes such a
//! signal on at the next resume and refuses to run in reverse with one pending. gdbstub's stop
//! replies carry no description, and its `?` reply is always a plain `SIGTRAP`, so those two
//! replies are written here, next to the stub (see `Framer`).
//!
//! gdbstub ends a connection on a packet it cannot parse. The server answers such a packet
//! with an error reply instead and carries on with a fresh stub, brought to the negotiated
//! state by replaying the packets that set it up with its output muted.
//!
//! Caller frames show the return address, the instruction after their `call`, as native
//! unwinders do: LLDB looks up a caller's line at `pc - 1` and sets its step-out breakpoint at
//! the pc itself, and both are right only for a return address.
//!
//! A long movement is interrupted by LLDB's Ctrl-C: the session's progress callback looks for
//! the interrupt byte on the connection between slices of execution.
//!
//! One client is served at a time. When it disconnects, its stop points are deleted and the
//! session goes back to where serving began, ready for the next one.

#![forbid(unsafe_code)]

mod target;

use deja_replayer::Session;
use gdbstub::common::Signal;
use gdbstub::conn::{Connection, ConnectionExt};
use gdbstub::stub::state_machine::GdbStubStateMachine;
use gdbstub::stub::{DisconnectReason, GdbStub, GdbStubError, SingleThreadStopReason};
use std::cell::Cell;
use std::io::{Read, Seek};
use std::net::TcpStream;
use std::rc::Rc;

pub use target::MODULE_BASE;

/// What can end serving a client abnormally.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The connection failed (not a plain disconnect).
    #[error("connection: {0}")]
    Connection(#[source] std::io::Error),
    /// The session could not make a movement (an unreadable trace or a divergence).
    #[error("replay: {0}")]
    Session(#[source] deja_replayer::Error),
    /// The protocol layer failed (for example a packet too large for its buffer).
    #[error("gdb-remote protocol: {0}")]
    Protocol(String),
}

/// How a client's session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientEnd {
    /// The client detached or closed the connection.
    Disconnected,
    /// The client sent a kill request.
    Killed,
    /// A forward movement reached the guest's exit, which was reported with this status.
    Exited(u8),
    /// The process was reported terminated by this signal.
    Terminated(Signal),
}

/// Serves one trace to one client after another.
pub struct Server<R: Read + Seek + Send + 'static = std::fs::File> {
    session: Session<R>,
    home: u64,
    module_name: String,
}

impl<R: Read + Seek + Send + 'static> Server<R> {
    /// A server over `session`; each client starts where the session stands now. `module_name`
    /// is the name LLDB shows for the module (its file name, for example).
    pub fn new(session: Session<R>, module_name: impl Into<String>) -> Self {
        Server {
            home: session.position(),
            session,
            module_name: module_name.into(),
        }
    }

    /// The session being served.
    pub fn session(&self) -> &Session<R> {
        &self.session
    }

    /// Serves one client until it disconnects, then deletes its stop points and returns the
    /// session to where serving began.
    ///
    /// # Errors
    /// A failed connection, a movement the session could not make, or a protocol failure; the
    /// server is ready for the next client all the same.
    pub fn serve_client(&mut self, stream: TcpStream) -> Result<ClientEnd, Error> {
        let _ = stream.set_nodelay(true);
        let probe = stream.try_clone().map_err(Error::Connection)?;
        let mut target = target::DejaTarget::new(&mut self.session, &self.module_name, probe);
        let result = run(&mut target, stream);
        target.forget();
        drop(target);
        self.session.set_progress(None);
        self.session.seek(self.home).map_err(Error::Session)?;
        result
    }
}

/// The session's error when the target failed, otherwise the connection's or the stub's.
fn stub_error<E: std::fmt::Display>(e: GdbStubError<deja_replayer::Error, E>) -> Error {
    if e.is_target_error() {
        match e.into_target_error() {
            Some(t) => Error::Session(t),
            None => Error::Protocol("target error".into()),
        }
    } else if e.is_connection_error() {
        match e.into_connection_error() {
            Some((e, _)) => Error::Connection(std::io::Error::other(e.to_string())),
            None => Error::Protocol("connection error".into()),
        }
    } else {
        Error::Protocol(e.to_string())
    }
}

/// Whether an I/O error is the peer going away.
fn is_disconnect(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe
    )
}

/// The connection as a stub sees it: a handle on the client's socket whose writes can be
/// muted, so that a fresh stub can be brought to the negotiated state without a word to the
/// client.
struct Conn {
    stream: TcpStream,
    muted: Rc<Cell<bool>>,
}

impl Connection for Conn {
    type Error = std::io::Error;

    fn write(&mut self, byte: u8) -> Result<(), Self::Error> {
        self.write_all(&[byte])
    }

    fn write_all(&mut self, buf: &[u8]) -> Result<(), Self::Error> {
        if self.muted.get() {
            return Ok(());
        }
        std::io::Write::write_all(&mut self.stream, buf)
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        std::io::Write::flush(&mut self.stream)
    }
}

impl ConnectionExt for Conn {
    fn read(&mut self) -> Result<u8, Self::Error> {
        ConnectionExt::read(&mut self.stream)
    }

    fn peek(&mut self) -> Result<Option<u8>, Self::Error> {
        ConnectionExt::peek(&mut self.stream)
    }
}

/// How serving through one stub ended.
enum Served {
    /// The client is gone (or the guest exited).
    End(ClientEnd),
    /// The stub refused a packet it could not parse and is spent; the client was sent an
    /// error reply, and a fresh stub takes over.
    BadPacket,
}

type Machine<'a, 's, R> = GdbStubStateMachine<'a, target::DejaTarget<'s, R>, Conn>;

fn run<R: Read + Seek + Send + 'static>(
    target: &mut target::DejaTarget<'_, R>,
    stream: TcpStream,
) -> Result<ClientEnd, Error> {
    let muted = Rc::new(Cell::new(false));
    let mut framer = Framer::default();
    loop {
        let conn = Conn {
            stream: stream.try_clone().map_err(Error::Connection)?,
            muted: muted.clone(),
        };
        let stub = GdbStub::builder(conn)
            .packet_buffer_size(Framer::MAX)
            .build()
            .map_err(|e| Error::Protocol(e.to_string()))?;
        let mut gdb = stub.run_state_machine(target).map_err(stub_error)?;
        // A fresh stub after a bad packet: replay what the client negotiated, silently.
        muted.set(true);
        for packet in framer.negotiated.clone() {
            gdb = feed(gdb, target, &packet).map_err(stub_error)?;
        }
        muted.set(false);
        // A second handle, to answer a packet that ends the stub.
        let mut spare = Conn {
            stream: stream.try_clone().map_err(Error::Connection)?,
            muted: Rc::new(Cell::new(false)),
        };
        match serve_packets(gdb, target, &mut framer, &muted, &mut spare)? {
            Served::End(end) => return Ok(end),
            Served::BadPacket => {}
        }
    }
}

/// Feeds a packet's bytes to a stub waiting for one.
fn feed<'a, 's, R: Read + Seek + Send + 'static>(
    mut gdb: Machine<'a, 's, R>,
    target: &mut target::DejaTarget<'s, R>,
    packet: &[u8],
) -> Result<Machine<'a, 's, R>, GdbStubError<deja_replayer::Error, std::io::Error>> {
    for &b in packet {
        gdb = match gdb {
            GdbStubStateMachine::Idle(g) => g.incoming_data(target, b)?,
            // A packet completes only at its last byte.
            other => other,
        };
    }
    Ok(gdb)
}

fn read_byte(conn: &mut Conn) -> Result<Option<u8>, Error> {
    match ConnectionExt::read(conn) {
        Ok(b) => Ok(Some(b)),
        Err(e) if is_disconnect(&e) => Ok(None),
        Err(e) => Err(Error::Connection(e)),
    }
}

fn write_raw(conn: &mut Conn, bytes: &[u8]) -> Result<(), Error> {
    Connection::write_all(conn, bytes).map_err(Error::Connection)?;
    Connection::flush(conn).map_err(Error::Connection)
}

/// Reports a stop through the stub, with the pc as every stop reply carries it (LLDB would
/// keep showing the pc of the last one).
fn report<'a, 's, R: Read + Seek + Send + 'static>(
    g: gdbstub::stub::state_machine::GdbStubStateMachineInner<
        'a,
        gdbstub::stub::state_machine::state::Running,
        target::DejaTarget<'s, R>,
        Conn,
    >,
    target: &mut target::DejaTarget<'s, R>,
    reason: SingleThreadStopReason<u64>,
) -> Result<Machine<'a, 's, R>, Error> {
    let pc = target.pc().to_le_bytes();
    let mut regs = std::iter::once((gdbstub_arch::wasm::reg::id::WasmRegId::Pc, &pc[..]));
    g.report_stop_with_regs(target, reason, &mut regs)
        .map_err(stub_error)
}

fn serve_packets<'a, 's, R: Read + Seek + Send + 'static>(
    mut gdb: Machine<'a, 's, R>,
    target: &mut target::DejaTarget<'s, R>,
    framer: &mut Framer,
    muted: &Cell<bool>,
    spare: &mut Conn,
) -> Result<Served, Error> {
    loop {
        gdb = match gdb {
            GdbStubStateMachine::Idle(mut g) => {
                let Some(byte) = read_byte(g.borrow_conn())? else {
                    return Ok(Served::End(ClientEnd::Disconnected));
                };
                match framer.push(byte) {
                    None => GdbStubStateMachine::Idle(g),
                    // The client asks for the last reply again; gdbstub keeps none (and would
                    // drop the connection), and over TCP nothing was damaged.
                    Some(Framed::Byte(b'-')) => GdbStubStateMachine::Idle(g),
                    Some(Framed::Byte(b)) => g.incoming_data(target, b).map_err(stub_error)?,
                    Some(Framed::TooLong) => {
                        let reply = framer.refusal();
                        write_raw(g.borrow_conn(), &reply)?;
                        GdbStubStateMachine::Idle(g)
                    }
                    Some(Framed::Packet(packet)) if !Framer::checksum_ok(&packet) => {
                        // A damaged packet: ask for it again, as the protocol says (gdbstub
                        // would drop the connection).
                        let reply = framer.refusal();
                        write_raw(g.borrow_conn(), &reply)?;
                        GdbStubStateMachine::Idle(g)
                    }
                    Some(Framed::Packet(packet)) if packet == b"$?#3f" => {
                        // The halt reason, answered here: gdbstub's is always SIGTRAP, and a
                        // client attaching at a trap should see the trap.
                        let reply = framer.reply(&framer.stop_body(target.pc(), target.fault()));
                        write_raw(g.borrow_conn(), &reply)?;
                        GdbStubStateMachine::Idle(g)
                    }
                    Some(Framed::Packet(packet)) => {
                        match feed(GdbStubStateMachine::Idle(g), target, &packet) {
                            Ok(next) => {
                                framer.accepted(&packet);
                                next
                            }
                            Err(e) if e.is_target_error() || e.is_connection_error() => {
                                return Err(stub_error(e));
                            }
                            Err(e) => {
                                // A packet the stub could not take, which ends a stub: an
                                // error reply, and a fresh stub. A packet it could not parse
                                // was not acknowledged yet; others were.
                                let parse = e.to_string().starts_with("Failed to parse packet");
                                let reply = if parse {
                                    framer.reply("E01")
                                } else {
                                    framer.reply_unacked("E01")
                                };
                                write_raw(spare, &reply)?;
                                return Ok(Served::BadPacket);
                            }
                        }
                    }
                }
            }
            GdbStubStateMachine::Running(mut g) => {
                let pending = ConnectionExt::peek(g.borrow_conn()).map_err(Error::Connection)?;
                if pending.is_some() || !target.has_resume() {
                    let Some(byte) = read_byte(g.borrow_conn())? else {
                        return Ok(Served::End(ClientEnd::Disconnected));
                    };
                    if byte == 0x03 {
                        g.incoming_data(target, byte).map_err(stub_error)?
                    } else {
                        // Nothing else is asked of a running target (all-stop mode): an
                        // acknowledgement, or a confused client's byte, waits for no reply.
                        GdbStubStateMachine::Running(g)
                    }
                } else {
                    match target.execute().map_err(Error::Session)? {
                        // Cancelled by the interrupt byte, which the next turn reads.
                        None => GdbStubStateMachine::Running(g),
                        Some(target::Report::Fault(fault)) => {
                            // The stub cannot add a description to a stop reply: it reports a
                            // plain stop to nobody, and the client gets this one.
                            muted.set(true);
                            let reason = SingleThreadStopReason::SignalWithThread {
                                tid: (),
                                signal: Signal::SIGTRAP,
                            };
                            let next = g.report_stop(target, reason);
                            muted.set(false);
                            let mut next = next.map_err(stub_error)?;
                            let reply =
                                framer.reply_unacked(&framer.stop_body(target.pc(), Some(fault)));
                            match &mut next {
                                GdbStubStateMachine::Idle(g) => write_raw(g.borrow_conn(), &reply)?,
                                _ => {
                                    return Err(Error::Protocol(
                                        "a stop did not end the run".into(),
                                    ));
                                }
                            }
                            next
                        }
                        Some(target::Report::Stop(reason)) => report(g, target, reason)?,
                    }
                }
            }
            GdbStubStateMachine::CtrlCInterrupt(g) => {
                let reason = target.interrupted();
                match g
                    .interrupt_handled(target, None::<SingleThreadStopReason<u64>>)
                    .map_err(stub_error)?
                {
                    // Interrupted while running: the stop, with the pc (as every stop reply
                    // carries it: LLDB would keep showing the pc of the last one).
                    GdbStubStateMachine::Running(g) => report(g, target, reason)?,
                    // Interrupted while stopped: nothing to stop.
                    other => other,
                }
            }
            GdbStubStateMachine::Disconnected(g) => {
                return Ok(Served::End(match g.get_reason() {
                    DisconnectReason::Disconnect => ClientEnd::Disconnected,
                    DisconnectReason::Kill => ClientEnd::Killed,
                    DisconnectReason::TargetExited(code) => ClientEnd::Exited(code),
                    DisconnectReason::TargetTerminated(sig) => ClientEnd::Terminated(sig),
                }));
            }
        };
    }
}

/// What the framer passes on.
#[derive(Debug, PartialEq, Eq)]
enum Framed {
    /// A whole packet, `$` to its checksum.
    Packet(Vec<u8>),
    /// An acknowledgement (`+`), a request to resend (`-`) or an interrupt (0x03).
    Byte(u8),
    /// A packet longer than the stub's buffer, dropped.
    TooLong,
}

/// Holds back the bytes of each packet until it is complete, so that the server can answer
/// some packets itself, and notes the features the client negotiated that such answers
/// depend on.
#[derive(Default)]
struct Framer {
    packet: Vec<u8>,
    /// Checksum digits still to come (the packet is complete when this drops to 0 after `#`).
    checksum_left: Option<u8>,
    /// The packet being read is longer than [`Framer::MAX`]: its bytes are dropped.
    overflowed: bool,
    /// `QStartNoAckMode` was sent: no `+` acknowledgements any more.
    no_ack: bool,
    /// The client's `qSupported` offered `multiprocess+`: thread ids are `pPID.TID`.
    multiprocess: bool,
    /// The packets that set up the stub's state (features, acknowledgements, the selected
    /// thread), to bring a fresh stub to the same state.
    negotiated: Vec<Vec<u8>>,
}

impl Framer {
    /// Longest packet taken (gdbstub's buffer); a longer one is refused whole.
    const MAX: usize = 1 << 16;

    /// Takes one byte; returns what is complete: a packet, or a byte outside packets that
    /// means something (`+`, `-`, 0x03). Other bytes outside packets are dropped.
    fn push(&mut self, byte: u8) -> Option<Framed> {
        if self.packet.is_empty() && !self.overflowed {
            return match byte {
                b'$' => {
                    self.packet.push(byte);
                    None
                }
                b'+' | b'-' | 0x03 => Some(Framed::Byte(byte)),
                _ => None,
            };
        }
        if self.overflowed {
            // Past the end of a packet too long to keep: wait for its checksum.
        } else if self.packet.len() < Self::MAX {
            self.packet.push(byte);
        } else {
            self.overflowed = true;
            self.packet.clear();
        }
        match &mut self.checksum_left {
            Some(n) => {
                *n -= 1;
                if *n > 0 {
                    return None;
                }
            }
            None if byte == b'#' => {
                self.checksum_left = Some(2);
                return None;
            }
            None => return None,
        }
        self.checksum_left = None;
        if std::mem::take(&mut self.overflowed) {
            return Some(Framed::TooLong);
        }
        Some(Framed::Packet(std::mem::take(&mut self.packet)))
    }

    /// Notes a packet the stub accepted: the features and state it negotiated.
    fn accepted(&mut self, packet: &[u8]) {
        if packet.starts_with(b"$QStartNoAckMode#") {
            self.no_ack = true;
        }
        if packet.starts_with(b"$qSupported") {
            self.multiprocess = packet.windows(13).any(|w| w == b"multiprocess+");
        }
        for prefix in [&b"$qSupported"[..], b"$QStartNoAckMode#", b"$Hg", b"$Hc"] {
            if packet.starts_with(prefix) {
                self.negotiated.retain(|p| !p.starts_with(prefix));
                self.negotiated.push(packet.to_vec());
            }
        }
    }

    /// Whether a complete packet (`$…#xx`) carries the right checksum; bytes outside packets
    /// have none to check.
    fn checksum_ok(packet: &[u8]) -> bool {
        let [b'$', body @ .., b'#', hi, lo] = packet else {
            return false;
        };
        let sum = body.iter().fold(0u8, |a, b| a.wrapping_add(*b));
        std::str::from_utf8(&[*hi, *lo])
            .ok()
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            == Some(sum)
    }

    /// What a packet that cannot be taken gets: `-` (send it again) with acknowledgements on,
    /// an error reply without them (the client would wait forever).
    fn refusal(&self) -> Vec<u8> {
        if self.no_ack {
            self.reply_unacked("E01")
        } else {
            b"-".to_vec()
        }
    }

    /// A reply packet with this body, after the acknowledgement of the packet it answers
    /// when acknowledgements are on.
    fn reply(&self, body: &str) -> Vec<u8> {
        let mut reply = if self.no_ack { Vec::new() } else { vec![b'+'] };
        reply.extend(self.reply_unacked(body));
        reply
    }

    /// A packet with this body (for a stop reply, whose command was acknowledged when it came).
    fn reply_unacked(&self, body: &str) -> Vec<u8> {
        let sum = body.bytes().fold(0u8, |a, b| a.wrapping_add(b));
        format!("${body}#{sum:02x}").into_bytes()
    }

    /// The body of a stop reply: `SIGTRAP`, the thread, the pc and, for a fault, its
    /// description (LLDB shows it as the stop reason).
    fn stop_body(&self, pc: u64, fault: Option<String>) -> String {
        let thread = if self.multiprocess { "p01.01" } else { "01" };
        let mut body = format!("T{:02x}thread:{thread};00:", Signal::SIGTRAP.0);
        for b in pc.to_le_bytes() {
            body.push_str(&format!("{b:02x}"));
        }
        body.push(';');
        if let Some(fault) = fault {
            body.push_str("description:");
            for b in fault.bytes() {
                body.push_str(&format!("{b:02x}"));
            }
            body.push(';');
        }
        body
    }
}
