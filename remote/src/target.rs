//! The gdbstub target: a [`Session`] seen through LLDB's Wasm extension.

use deja_replayer::runtime::{FuncIndex, TrapCode, Val};
use deja_replayer::traces::RunOutcome;
use deja_replayer::{Session, Stop, StopReason};
use gdbstub::common::{Endianness, Pid, Signal, Tid};
use gdbstub::stub::SingleThreadStopReason;
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::base::reverse_exec::{
    ReplayLogPosition, ReverseCont, ReverseContOps, ReverseStep, ReverseStepOps,
};
use gdbstub::target::ext::base::single_register_access::{
    SingleRegisterAccess, SingleRegisterAccessOps,
};
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep,
    SingleThreadSingleStepOps,
};
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwWatchpoint, HwWatchpointOps, SwBreakpoint, SwBreakpointOps,
    WatchKind,
};
use gdbstub::target::ext::host_info::{HostInfo, HostInfoOps, HostInfoResponse};
use gdbstub::target::ext::libraries::{Libraries, LibrariesOps};
use gdbstub::target::ext::lldb_register_info_override::{
    Callback, CallbackToken, LldbRegisterInfoOverride, LldbRegisterInfoOverrideOps,
};
use gdbstub::target::ext::process_info::{ProcessInfo, ProcessInfoOps, ProcessInfoResponse};
use gdbstub::target::ext::wasm::{Wasm, WasmOps};
use gdbstub::target::{Target, TargetError, TargetResult};
use gdbstub_arch::wasm::addr::{WasmAddr, WasmAddrType};
use gdbstub_arch::wasm::reg::WasmRegisters;
use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::net::TcpStream;

/// Where the module image (module 0 of the code space) starts in LLDB's address space.
pub const MODULE_BASE: u64 = 1 << 62;

const TRIPLE: &str = "wasm32-unknown-unknown-wasm";

/// How a stop is told to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Report {
    /// Through the stub.
    Stop(SingleThreadStopReason<u64>),
    /// The guest's fault that ended the run (a trap, a failed host call): a `SIGTRAP` stop
    /// with this description, which LLDB shows as the stop reason. Not the signal a native
    /// process would get (`SIGFPE`, `SIGSEGV`): LLDB would try to deliver it on the next
    /// resume and refuse to run in reverse.
    Fault(String),
}

/// What the client asked the guest to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resume {
    Continue,
    Step,
    ReverseContinue,
    ReverseStep,
}

pub(crate) struct DejaTarget<'s, R: Read + Seek + Send + 'static> {
    session: &'s mut Session<R>,
    module_name: &'s str,
    /// Raw breakpoint address → session stop id.
    breakpoints: BTreeMap<u64, u32>,
    /// (raw address, length) → session stop id.
    watchpoints: BTreeMap<(u64, u64), u32>,
    /// Breakpoints set where no step starts: at a function's symbol address (its body, before
    /// the locals declaration, as LLDB sets a breakpoint by name without DWARF) or on a
    /// structural instruction (`block`, `loop`, `else`, an inner `end`: line-table rows and
    /// return addresses can start there). Each stops at the next instruction that is a step,
    /// which the pc shows as the address LLDB used while the breakpoint exists: the next
    /// instruction → that address.
    aliases: BTreeMap<u32, u64>,
    /// Per defined function: its body's range in the module (after the size) and its index.
    bodies: Option<Vec<(u32, u32, FuncIndex)>>,
    resume: Option<Resume>,
}

impl<'s, R: Read + Seek + Send + 'static> DejaTarget<'s, R> {
    /// A target over `session`; `probe` is a second handle on the connection, read (never
    /// consumed) between slices of a long movement to see LLDB's interrupt.
    pub(crate) fn new(
        session: &'s mut Session<R>,
        module_name: &'s str,
        mut probe: TcpStream,
    ) -> Self {
        session.set_progress(Some(Box::new(move |_, _| {
            // Go on unless the client interrupts (0x03, left for the stub to read) or is gone.
            // Nothing else is asked of a running target: other bytes (acknowledgements) are
            // dropped, so that an interrupt behind them is seen.
            use std::io::Read;
            let _ = probe.set_nonblocking(true);
            let go_on = loop {
                let mut b = [0u8];
                match probe.peek(&mut b) {
                    Ok(0) => break false,
                    Ok(_) if b[0] == 0x03 => break false,
                    Ok(_) => {
                        if !matches!(probe.read(&mut b), Ok(1)) {
                            break false;
                        }
                    }
                    Err(e) => break e.kind() == std::io::ErrorKind::WouldBlock,
                }
            };
            let _ = probe.set_nonblocking(false);
            go_on
        })));
        DejaTarget {
            session,
            module_name,
            breakpoints: BTreeMap::new(),
            watchpoints: BTreeMap::new(),
            aliases: BTreeMap::new(),
            bodies: None,
            resume: None,
        }
    }

    /// Deletes the client's stop points.
    pub(crate) fn forget(&mut self) {
        for id in self.breakpoints.values().chain(self.watchpoints.values()) {
            self.session.delete(*id);
        }
        self.breakpoints.clear();
        self.watchpoints.clear();
        self.aliases.clear();
    }

    pub(crate) fn has_resume(&self) -> bool {
        self.resume.is_some()
    }

    /// The stop reason for an interrupt: the movement it cancelled is dropped.
    pub(crate) fn interrupted(&mut self) -> SingleThreadStopReason<u64> {
        self.resume = None;
        SingleThreadStopReason::SignalWithThread {
            tid: (),
            signal: Signal::SIGINT,
        }
    }

    /// Makes the movement the client asked for. `None` when an interrupt cancelled it.
    pub(crate) fn execute(&mut self) -> Result<Option<Report>, deja_replayer::Error> {
        let Some(resume) = self.resume.take() else {
            return Ok(None);
        };
        let from = self.session.position();
        let stop = match resume {
            Resume::Continue => self.session.continue_forward()?,
            Resume::Step => self.session.step_forward(1)?,
            Resume::ReverseContinue => {
                let stop = self.session.reverse_continue()?;
                if let StopReason::Watchpoint(_) = stop.reason {
                    // Backward, a write is found where it happens: on the instruction (or host
                    // call) that writes, the old value still in memory, as gdb with rr shows
                    // it. The session stops right after the write.
                    let before = self.session.seek(stop.position.saturating_sub(1))?;
                    if before.reason == StopReason::Cancelled {
                        return Ok(None);
                    }
                    Stop {
                        reason: stop.reason,
                        position: before.position,
                    }
                } else {
                    stop
                }
            }
            Resume::ReverseStep => self.session.reverse_step(1)?,
        };
        let forward = matches!(resume, Resume::Continue | Resume::Step);
        Ok(self.reason(from, stop, forward))
    }

    /// How a stop is reported.
    fn reason(&self, from: u64, stop: Stop, forward: bool) -> Option<Report> {
        use SingleThreadStopReason as R;
        Some(Report::Stop(match stop.reason {
            StopReason::Cancelled => return None,
            StopReason::Breakpoint(_) | StopReason::Throw(_) => R::SwBreak(()),
            StopReason::Watchpoint(id) => {
                let addr = self
                    .watchpoints
                    .iter()
                    .find_map(|(&(addr, _), &w)| (w == id).then_some(addr))
                    .unwrap_or(0);
                R::Watch {
                    tid: (),
                    kind: WatchKind::Write,
                    addr,
                }
            }
            StopReason::Start => R::ReplayLog {
                tid: None,
                pos: ReplayLogPosition::Begin,
            },
            StopReason::Step | StopReason::Event | StopReason::End => {
                let end = self.session.end();
                if !forward && stop.position <= self.session.start() {
                    R::ReplayLog {
                        tid: None,
                        pos: ReplayLogPosition::Begin,
                    }
                } else if forward && stop.position >= end {
                    return Some(self.end_reason(from >= end));
                } else {
                    // With the thread, so that the stop reply carries the pc.
                    R::SignalWithThread {
                        tid: (),
                        signal: Signal::SIGTRAP,
                    }
                }
            }
        }))
    }

    /// A forward movement at the end of the run: the guest's own end the first time, the end
    /// of the replay log when the movement started there.
    fn end_reason(&self, already_there: bool) -> Report {
        use SingleThreadStopReason as R;
        let log_end = Report::Stop(R::ReplayLog {
            tid: None,
            pos: ReplayLogPosition::End,
        });
        if already_there {
            return log_end;
        }
        if let Some(fault) = self.fault() {
            return Report::Fault(fault);
        }
        match self.session.outcome() {
            Some(RunOutcome::Exit(code)) => Report::Stop(R::Exited((*code).min(255) as u8)),
            Some(RunOutcome::Returned) => Report::Stop(R::Exited(0)),
            _ => log_end,
        }
    }

    /// The fault that ended the run, when the guest stands on it: a trap or a failed host
    /// call, as LLDB shows it.
    pub(crate) fn fault(&self) -> Option<String> {
        if self.session.position() < self.session.end() {
            return None;
        }
        match self.session.outcome()? {
            RunOutcome::Trap { code, message } => {
                let what = TrapCode::from_u8(*code)
                    .map_or_else(|| format!("trap code {code}"), |c| c.to_string());
                Some(match message {
                    Some(m) if !m.is_empty() && *m != what => format!("wasm trap: {what}: {m}"),
                    _ => format!("wasm trap: {what}"),
                })
            }
            RunOutcome::HostError { import, message } => {
                let name = self
                    .session
                    .import_names()
                    .get(import.0 as usize)
                    .map_or("an import", String::as_str);
                Some(format!("host call failed: {name}: {message}"))
            }
            _ => None,
        }
    }

    /// The innermost frame's pc in LLDB's address space. Before the entry function starts
    /// (and after it returned), its first instruction.
    pub(crate) fn pc(&self) -> u64 {
        let frames = self.session.store().debug_frames();
        let pc = match frames.wasm_function_index_and_pc() {
            Some((_, pc)) => return self.shown(pc),
            None => self
                .session
                .entry_func()
                .and_then(|f| self.session.module().instruction_pcs(f).first().copied())
                .unwrap_or(0),
        };
        MODULE_BASE | u64::from(pc)
    }

    /// Each frame's pc, innermost first: the next instruction in the innermost frame, the
    /// return address (the instruction after the `call`) in the others.
    fn call_stack(&self) -> Vec<u64> {
        let bytes = self.session.module().bytes();
        let mut frames = self.session.store().debug_frames();
        let mut pcs = Vec::new();
        while let Some((_, pc)) = frames.wasm_function_index_and_pc() {
            pcs.push(if pcs.is_empty() {
                self.shown(pc)
            } else {
                MODULE_BASE | u64::from(pc + call_len(bytes, pc as usize))
            });
            frames.move_to_parent();
        }
        if pcs.is_empty() {
            pcs.push(self.pc());
        }
        pcs
    }

    /// How an innermost frame's pc is shown: its address, or the address of a breakpoint that
    /// stops there (see `aliases`), so that LLDB knows the stop for its breakpoint's.
    fn shown(&self, pc: u32) -> u64 {
        self.aliases
            .get(&pc)
            .copied()
            .unwrap_or(MODULE_BASE | u64::from(pc))
    }

    /// The function whose body (or its size prefix, at most 5 bytes before it) holds module
    /// offset `offset`.
    fn function_holding(&mut self, offset: u32) -> Option<FuncIndex> {
        if self.bodies.is_none() {
            self.bodies = Some(function_bodies(self.session.module()));
        }
        self.bodies.as_ref()?.iter().find_map(|&(start, end, f)| {
            (start.saturating_sub(5) <= offset && offset < end).then_some(f)
        })
    }

    /// A value of frame `frame`: a local (`stack` false) or an operand-stack value.
    fn frame_value(&self, frame: usize, index: usize, stack: bool) -> Option<Val> {
        let mut frames = self.session.store().debug_frames();
        if frame >= frames.depth() {
            return None;
        }
        for _ in 0..frame {
            frames.move_to_parent();
        }
        if frames.done() {
            return None;
        }
        let index = u32::try_from(index).ok()?;
        if stack {
            (index < frames.num_stacks()).then(|| frames.stack(index))
        } else {
            (index < frames.num_locals()).then(|| frames.local(index))
        }
    }

    fn libraries_xml(&self) -> String {
        let mut name = String::new();
        for c in self.module_name.chars() {
            match c {
                '&' => name.push_str("&amp;"),
                '<' => name.push_str("&lt;"),
                '>' => name.push_str("&gt;"),
                '"' => name.push_str("&quot;"),
                '\'' => name.push_str("&apos;"),
                c => name.push(c),
            }
        }
        format!(
            "<library-list><library name=\"{name}\"><section address=\"{MODULE_BASE:#x}\"/></library></library-list>"
        )
    }
}

/// Per defined function: its body's range in the module (after its size) and its index.
fn function_bodies(module: &deja_replayer::runtime::Module) -> Vec<(u32, u32, FuncIndex)> {
    let mut bodies = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(module.bytes()) {
        match payload {
            Ok(wasmparser::Payload::CodeSectionEntry(body)) => bodies.push(body.range()),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    bodies
        .into_iter()
        .zip(module.num_imported_funcs()..module.num_funcs())
        .filter_map(|(range, f)| {
            Some((
                u32::try_from(range.start).ok()?,
                u32::try_from(range.end).ok()?,
                FuncIndex::from_u32(f),
            ))
        })
        .collect()
}

/// Length of the `call`, `call_indirect` or `call_ref` instruction at `pc` (1 if it is neither, which
/// does not happen in a caller's frame).
fn call_len(bytes: &[u8], pc: usize) -> u32 {
    let leb = |at: usize| -> usize {
        bytes
            .get(at..)
            .unwrap_or_default()
            .iter()
            .position(|b| b & 0x80 == 0)
            .map_or(1, |n| n + 1)
    };
    match bytes.get(pc) {
        // `call`, and `call_ref` with its type index.
        Some(0x10 | 0x14) => 1 + leb(pc + 1) as u32,
        Some(0x11) => {
            let ty = leb(pc + 1);
            (1 + ty + leb(pc + 1 + ty)) as u32
        }
        _ => 1,
    }
}

/// A value as LLDB reads it: little-endian, its native width. References have no bytes.
fn value_bytes(v: &Val, buf: &mut [u8]) -> usize {
    let bytes: &[u8] = match v {
        Val::I32(x) => &x.to_le_bytes(),
        Val::F32(x) => &x.to_le_bytes(),
        Val::I64(x) => &x.to_le_bytes(),
        Val::F64(x) => &x.to_le_bytes(),
        Val::V128(x) => &x.to_le_bytes(),
        Val::FuncRef(_) | Val::ExternRef(_) | Val::ExnRef(_) => &[],
    };
    let n = bytes.len().min(buf.len());
    buf[..n].copy_from_slice(&bytes[..n]);
    n
}

fn copy_from(src: &[u8], offset: usize, buf: &mut [u8]) -> usize {
    let Some(src) = src.get(offset..) else {
        return 0;
    };
    let n = src.len().min(buf.len());
    buf[..n].copy_from_slice(&src[..n]);
    n
}

impl<R: Read + Seek + Send + 'static> Target for DejaTarget<'_, R> {
    type Arch = gdbstub_arch::wasm::Wasm;
    type Error = deja_replayer::Error;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::SingleThread(self)
    }

    fn guard_rail_implicit_sw_breakpoints(&self) -> bool {
        true
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_host_info(&mut self) -> Option<HostInfoOps<'_, Self>> {
        Some(self)
    }

    fn support_process_info(&mut self) -> Option<ProcessInfoOps<'_, Self>> {
        Some(self)
    }

    fn support_libraries(&mut self) -> Option<LibrariesOps<'_, Self>> {
        Some(self)
    }

    fn support_wasm(&mut self) -> Option<WasmOps<'_, Self>> {
        Some(self)
    }

    fn support_lldb_register_info_override(
        &mut self,
    ) -> Option<LldbRegisterInfoOverrideOps<'_, Self>> {
        Some(self)
    }
}

impl<R: Read + Seek + Send + 'static> LldbRegisterInfoOverride for DejaTarget<'_, R> {
    /// The one register, `pc`, as LLDB's Wasm support names it (`qRegisterInfo0`); without
    /// it LLDB cannot read the pc, and takes breakpoint hits for plain `SIGTRAP`s.
    fn lldb_register_info<'a>(
        &mut self,
        reg_id: usize,
        reg_info: Callback<'a>,
    ) -> Result<CallbackToken<'a>, Self::Error> {
        use gdbstub::arch::lldb::{Encoding, Format, Generic, Register};
        Ok(match reg_id {
            0 => reg_info.write(Register {
                name: "pc",
                alt_name: Some("pc"),
                bitsize: 64,
                offset: 0,
                encoding: Encoding::Uint,
                format: Format::Hex,
                set: "General Purpose Registers",
                gcc: Some(16),
                dwarf: Some(16),
                generic: Some(Generic::Pc),
                container_regs: None,
                invalidate_regs: None,
            }),
            _ => reg_info.done(),
        })
    }
}

impl<R: Read + Seek + Send + 'static> SingleThreadBase for DejaTarget<'_, R> {
    fn read_registers(&mut self, regs: &mut WasmRegisters) -> TargetResult<(), Self> {
        regs.pc = self.pc();
        Ok(())
    }

    fn write_registers(&mut self, _regs: &WasmRegisters) -> TargetResult<(), Self> {
        // A recorded run cannot be changed.
        Err(TargetError::NonFatal)
    }

    fn read_addrs(&mut self, start: u64, data: &mut [u8]) -> TargetResult<usize, Self> {
        let addr = WasmAddr::from_raw(start).ok_or(TargetError::NonFatal)?;
        if addr.module_index() != 0 {
            return Err(TargetError::NonFatal);
        }
        let offset = addr.offset() as usize;
        let n = match addr.addr_type() {
            WasmAddrType::Object => copy_from(self.session.module().bytes(), offset, data),
            WasmAddrType::Memory => {
                let store = self.session.store();
                let memory = store
                    .instance_memory(self.session.instance())
                    .ok_or(TargetError::NonFatal)?;
                copy_from(store.memory_data(memory), offset, data)
            }
        };
        if n == 0 && !data.is_empty() {
            return Err(TargetError::NonFatal);
        }
        Ok(n)
    }

    fn write_addrs(&mut self, _start: u64, _data: &[u8]) -> TargetResult<(), Self> {
        Err(TargetError::NonFatal)
    }

    fn support_single_register_access(&mut self) -> Option<SingleRegisterAccessOps<'_, (), Self>> {
        Some(self)
    }

    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl<R: Read + Seek + Send + 'static> SingleRegisterAccess<()> for DejaTarget<'_, R> {
    fn read_register(
        &mut self,
        _tid: (),
        reg: gdbstub_arch::wasm::reg::id::WasmRegId,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        match reg {
            gdbstub_arch::wasm::reg::id::WasmRegId::Pc => {
                Ok(copy_from(&self.pc().to_le_bytes(), 0, buf))
            }
            _ => Err(TargetError::NonFatal),
        }
    }

    fn write_register(
        &mut self,
        _tid: (),
        _reg: gdbstub_arch::wasm::reg::id::WasmRegId,
        _val: &[u8],
    ) -> TargetResult<(), Self> {
        Err(TargetError::NonFatal)
    }
}

impl<R: Read + Seek + Send + 'static> SingleThreadResume for DejaTarget<'_, R> {
    fn resume(&mut self, _signal: Option<Signal>) -> Result<(), Self::Error> {
        self.resume = Some(Resume::Continue);
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<SingleThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    fn support_reverse_step(&mut self) -> Option<ReverseStepOps<'_, (), Self>> {
        Some(self)
    }

    fn support_reverse_cont(&mut self) -> Option<ReverseContOps<'_, (), Self>> {
        Some(self)
    }
}

impl<R: Read + Seek + Send + 'static> SingleThreadSingleStep for DejaTarget<'_, R> {
    fn step(&mut self, _signal: Option<Signal>) -> Result<(), Self::Error> {
        self.resume = Some(Resume::Step);
        Ok(())
    }
}

impl<R: Read + Seek + Send + 'static> ReverseCont<()> for DejaTarget<'_, R> {
    fn reverse_cont(&mut self) -> Result<(), Self::Error> {
        self.resume = Some(Resume::ReverseContinue);
        Ok(())
    }
}

impl<R: Read + Seek + Send + 'static> ReverseStep<()> for DejaTarget<'_, R> {
    fn reverse_step(&mut self, _tid: ()) -> Result<(), Self::Error> {
        self.resume = Some(Resume::ReverseStep);
        Ok(())
    }
}

impl<R: Read + Seek + Send + 'static> Breakpoints for DejaTarget<'_, R> {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

impl<R: Read + Seek + Send + 'static> SwBreakpoint for DejaTarget<'_, R> {
    fn add_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        if self.breakpoints.contains_key(&addr) {
            return Ok(true);
        }
        let wasm = WasmAddr::from_raw(addr).ok_or(TargetError::NonFatal)?;
        if wasm.addr_type() != WasmAddrType::Object || wasm.module_index() != 0 {
            return Err(TargetError::NonFatal);
        }
        // At an instruction that is a step, or else at the next one, shown at the address
        // LLDB used (see `aliases`): a breakpoint that merely slid would stop at a pc LLDB does
        // not know as its own.
        let offset = wasm.offset();
        let func = self.function_holding(offset).ok_or(TargetError::NonFatal)?;
        let pc = self
            .session
            .module()
            .instruction_pcs(func)
            .into_iter()
            .find(|&p| p >= offset)
            .ok_or(TargetError::NonFatal)?;
        let id = self
            .session
            .add_breakpoint(func, Some(pc))
            .map_err(|_| TargetError::NonFatal)?;
        self.breakpoints.insert(addr, id);
        if pc != offset {
            self.aliases.entry(pc).or_insert(addr);
        }
        Ok(true)
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        self.aliases.retain(|_, a| *a != addr);
        match self.breakpoints.remove(&addr) {
            Some(id) => Ok(self.session.delete(id)),
            None => Err(TargetError::NonFatal),
        }
    }
}

impl<R: Read + Seek + Send + 'static> HwWatchpoint for DejaTarget<'_, R> {
    fn add_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        if kind != WatchKind::Write {
            // The runtime reports writes only.
            return Ok(false);
        }
        let wasm = WasmAddr::from_raw(addr).ok_or(TargetError::NonFatal)?;
        if wasm.addr_type() != WasmAddrType::Memory || wasm.module_index() != 0 || len == 0 {
            return Err(TargetError::NonFatal);
        }
        if !self.watchpoints.contains_key(&(addr, len)) {
            let id = self.session.add_watchpoint(u64::from(wasm.offset()), len);
            self.watchpoints.insert((addr, len), id);
        }
        Ok(true)
    }

    fn remove_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        if kind != WatchKind::Write {
            return Ok(false);
        }
        match self.watchpoints.remove(&(addr, len)) {
            Some(id) => Ok(self.session.delete(id)),
            None => Err(TargetError::NonFatal),
        }
    }
}

impl<R: Read + Seek + Send + 'static> HostInfo for DejaTarget<'_, R> {
    fn host_info(
        &self,
        write_item: &mut dyn FnMut(&HostInfoResponse<'_>),
    ) -> Result<(), Self::Error> {
        write_item(&HostInfoResponse::Triple(TRIPLE));
        write_item(&HostInfoResponse::Endianness(Endianness::Little));
        write_item(&HostInfoResponse::PointerSize(4));
        Ok(())
    }
}

impl<R: Read + Seek + Send + 'static> ProcessInfo for DejaTarget<'_, R> {
    fn process_info(
        &self,
        write_item: &mut dyn FnMut(&ProcessInfoResponse<'_>),
    ) -> Result<(), Self::Error> {
        write_item(&ProcessInfoResponse::Pid(Pid::new(1).expect("1 is not 0")));
        write_item(&ProcessInfoResponse::Triple(TRIPLE));
        write_item(&ProcessInfoResponse::Endianness(Endianness::Little));
        write_item(&ProcessInfoResponse::PointerSize(4));
        Ok(())
    }
}

impl<R: Read + Seek + Send + 'static> Libraries for DejaTarget<'_, R> {
    fn get_libraries(
        &self,
        offset: u64,
        length: usize,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        let xml = self.libraries_xml();
        let Ok(offset) = usize::try_from(offset) else {
            return Ok(0);
        };
        let n = length.min(buf.len());
        Ok(copy_from(xml.as_bytes(), offset, &mut buf[..n]))
    }
}

impl<R: Read + Seek + Send + 'static> Wasm for DejaTarget<'_, R> {
    fn wasm_call_stack(&self, _tid: Tid, next_pc: &mut dyn FnMut(u64)) -> Result<(), Self::Error> {
        for pc in self.call_stack() {
            next_pc(pc);
        }
        Ok(())
    }

    fn read_wasm_local(
        &self,
        _tid: Tid,
        frame: usize,
        local: usize,
        buf: &mut [u8],
    ) -> Result<usize, Self::Error> {
        Ok(self
            .frame_value(frame, local, false)
            .map_or(0, |v| value_bytes(&v, buf)))
    }

    fn read_wasm_stack(
        &self,
        _tid: Tid,
        frame: usize,
        index: usize,
        buf: &mut [u8],
    ) -> Result<usize, Self::Error> {
        Ok(self
            .frame_value(frame, index, true)
            .map_or(0, |v| value_bytes(&v, buf)))
    }

    fn read_wasm_global(
        &self,
        _tid: Tid,
        _frame: usize,
        global: usize,
        buf: &mut [u8],
    ) -> Result<usize, Self::Error> {
        Ok(self
            .session
            .globals()
            .get(global)
            .map_or(0, |v| value_bytes(v, buf)))
    }
}
