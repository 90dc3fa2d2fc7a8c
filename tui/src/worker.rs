//! The worker thread: it owns the [`Session`] and does every slow thing — opening, moving,
//! reading state — so that the UI thread only draws and dispatches. It answers each
//! [`Command`] with a fresh [`View`]; long operations send [`Reply::Progress`] and stop when
//! the shared cancel flag is raised.

use crate::view::{CodeLine, FrameView, View};
use deja_replayer::runtime::{FuncIndex, Val};
use deja_replayer::traces::TraceReader;
use deja_replayer::{Progress, Session, SessionOptions, Stop, StopPoint};
use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A movement through time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Movement {
    /// One instruction forward.
    Step,
    /// One instruction back.
    ReverseStep,
    /// Over calls, forward.
    Next,
    /// Over calls, back.
    ReverseNext,
    /// Out to the caller.
    Finish,
    /// Back to the call.
    ReverseFinish,
    /// To the next stop point or the end.
    Continue,
    /// To the previous stop point or the start.
    ReverseContinue,
    /// To the start.
    Start,
    /// To the end.
    End,
    /// To the previous host call.
    PrevHostCall,
    /// To the next host call.
    NextHostCall,
}

/// What the UI asks of the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Move.
    Move(Movement),
    /// Go to a position.
    Seek(u64),
    /// Go to a fraction of the run, in thousandths.
    SeekPermille(u64),
    /// Toggle a breakpoint at a module offset.
    ToggleBreakpoint(u32),
    /// Watch memory.
    Watch(u64, u64),
    /// Show this frame's locals, stack and code.
    SelectFrame(usize),
    /// Show memory from this address.
    MemoryAt(u64),
    /// End the worker.
    Quit,
}

/// What the worker answers.
#[derive(Debug)]
pub enum Reply {
    /// The state after a command.
    View(Box<View>),
    /// Progress of a long command: done, total.
    Progress(u64, u64),
    /// A command failed; the view is unchanged.
    Error(String),
}

struct Worker<R: Read + Seek + Send + 'static> {
    session: Session<R>,
    /// Disassembly lines of the module and, for each instruction offset, its line.
    lines: Vec<String>,
    line_of: BTreeMap<u32, usize>,
    /// Which function each instruction offset belongs to.
    func_of: BTreeMap<u32, FuncIndex>,
    frame: usize,
    memory_addr: u64,
    previous_memory: Option<(u64, Vec<u8>)>,
    last_stop: Option<Stop>,
}

fn val_pair(v: &Val) -> (String, String) {
    (v.ty().to_string(), v.to_string())
}

/// Disassembles with offsets: returns the lines and, per instruction offset, its line.
fn disassemble(bytes: &[u8]) -> (Vec<String>, BTreeMap<u32, usize>) {
    let mut text = String::new();
    let mut config = wasmprinter::Config::new();
    config.print_offsets(true);
    if config
        .print(bytes, &mut wasmprinter::PrintFmtWrite(&mut text))
        .is_err()
    {
        return (
            vec!["(the module could not be disassembled)".into()],
            BTreeMap::new(),
        );
    }
    let mut lines = Vec::new();
    let mut line_of = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("(;@")
            && let Some((hex, _)) = rest.split_once(";)")
            && let Ok(offset) = u32::from_str_radix(hex.trim(), 16)
        {
            line_of.entry(offset).or_insert(i);
        }
        lines.push(line.to_string());
    }
    (lines, line_of)
}

impl<R: Read + Seek + Send + 'static> Worker<R> {
    fn new(session: Session<R>) -> Worker<R> {
        let module = session.module().clone();
        let (lines, line_of) = disassemble(module.bytes());
        let mut func_of = BTreeMap::new();
        for f in 0..module.num_funcs() {
            let f = FuncIndex::from_u32(f);
            for pc in module.instruction_pcs(f) {
                func_of.insert(pc, f);
            }
        }
        Worker {
            session,
            lines,
            line_of,
            func_of,
            frame: 0,
            memory_addr: 0,
            previous_memory: None,
            last_stop: None,
        }
    }

    fn execute(&mut self, command: &Command) -> Result<(), String> {
        let s = &mut self.session;
        let stop = match *command {
            Command::Move(m) => Some(match m {
                Movement::Step => s.step_forward(1),
                Movement::ReverseStep => s.reverse_step(1),
                Movement::Next => s.step_over(),
                Movement::ReverseNext => s.reverse_step_over(),
                Movement::Finish => s.finish(),
                Movement::ReverseFinish => s.reverse_finish(),
                Movement::Continue => s.continue_forward(),
                Movement::ReverseContinue => s.reverse_continue(),
                Movement::Start => s.seek(s.start()),
                Movement::End => s.seek(s.end()),
                Movement::PrevHostCall | Movement::NextHostCall => {
                    let p = s.position();
                    let calls = s.host_calls();
                    let k = if m == Movement::NextHostCall {
                        calls.iter().position(|&c| c > p)
                    } else {
                        calls.iter().rposition(|&c| c < p)
                    };
                    match k {
                        Some(k) => s.seek_host_call(k),
                        None => return Err("no host call that way".into()),
                    }
                }
            }),
            Command::Seek(p) => Some(s.seek(p)),
            Command::SeekPermille(m) => {
                let p = s.start() + (s.end() - s.start()) * m.min(1000) / 1000;
                Some(s.seek(p))
            }
            Command::ToggleBreakpoint(pc) => {
                let func = *self
                    .func_of
                    .range(..=pc)
                    .next_back()
                    .ok_or("no instruction there")?
                    .1;
                let existing = s
                    .stop_points()
                    .iter()
                    .find_map(|(id, p)| (*p == StopPoint::Breakpoint { func, pc }).then_some(*id));
                match existing {
                    Some(id) => {
                        s.delete(id);
                    }
                    None => {
                        s.add_breakpoint(func, Some(pc))
                            .map_err(|e| e.to_string())?;
                    }
                }
                None
            }
            Command::Watch(addr, len) => {
                s.add_watchpoint(addr, len);
                None
            }
            Command::SelectFrame(f) => {
                self.frame = f;
                None
            }
            Command::MemoryAt(a) => {
                self.memory_addr = a;
                None
            }
            Command::Quit => None,
        };
        if let Some(stop) = stop {
            let stop = stop.map_err(|e| e.to_string())?;
            self.frame = 0;
            self.last_stop = Some(stop);
        }
        Ok(())
    }

    fn view(&mut self) -> View {
        let s = &mut self.session;
        let module = s.module().clone();
        let mut frames = Vec::new();
        let (mut locals, mut stack, mut pc) = (Vec::new(), Vec::new(), None);
        {
            let mut c = s.store().debug_frames();
            let mut i = 0;
            while !c.done() {
                let (func, fpc) = c.wasm_function_index_and_pc().expect("frame");
                frames.push(FrameView {
                    func: func.as_u32(),
                    name: module
                        .func_name(func)
                        .map_or_else(|| format!("func {}", func.as_u32()), str::to_string),
                    pc: fpc,
                });
                if i == self.frame {
                    locals = (0..c.num_locals()).map(|k| val_pair(&c.local(k))).collect();
                    stack = (0..c.num_stacks()).map(|k| val_pair(&c.stack(k))).collect();
                    pc = Some(fpc);
                }
                i += 1;
                c.move_to_parent();
            }
        }
        if self.frame >= frames.len() {
            self.frame = 0;
        }
        let breakpoints: Vec<(u32, u32)> = s
            .stop_points()
            .iter()
            .filter_map(|(id, p)| match p {
                StopPoint::Breakpoint { pc, .. } => Some((*id, *pc)),
                StopPoint::Watchpoint { .. } => None,
            })
            .collect();
        let watchpoints: Vec<(u32, u64, u64)> = s
            .stop_points()
            .iter()
            .filter_map(|(id, p)| match p {
                StopPoint::Watchpoint { addr, len } => Some((*id, *addr, *len)),
                StopPoint::Breakpoint { .. } => None,
            })
            .collect();
        // Code: a window of disassembly around the selected frame's pc.
        let current_line = pc.and_then(|pc| self.line_of.get(&pc).copied());
        let offset_at = |line: &str| -> Option<u32> {
            let rest = line.trim_start().strip_prefix("(;@")?;
            u32::from_str_radix(rest.split_once(";)")?.0.trim(), 16).ok()
        };
        let centre = current_line.unwrap_or(0);
        let from = centre.saturating_sub(60);
        let to = (centre + 60).min(self.lines.len());
        let code = self.lines[from..to]
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let offset = offset_at(text);
                CodeLine {
                    text: text.clone(),
                    offset,
                    current: Some(from + i) == current_line,
                    breakpoint: offset.is_some_and(|o| breakpoints.iter().any(|(_, pc)| *pc == o)),
                }
            })
            .collect();
        let memory = s
            .read_memory(self.memory_addr, 256)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        let changed = match &self.previous_memory {
            Some((addr, old)) if *addr == self.memory_addr => {
                memory.iter().zip(old.iter()).map(|(a, b)| a != b).collect()
            }
            _ => vec![false; memory.len()],
        };
        self.previous_memory = Some((self.memory_addr, memory.clone()));
        let (out, err) = s.output();
        let mut output = String::from_utf8_lossy(&out).into_owned();
        output.push_str(&String::from_utf8_lossy(&err));
        let position = s.position();
        let host_calls = s.host_calls().to_vec();
        let names: Vec<String> = (0..host_calls.len())
            .map(|k| s.host_call_name(k).unwrap_or("?").to_string())
            .collect();
        View {
            position,
            start: s.start(),
            end: s.end(),
            outcome: s.outcome().map(|o| format!("{o:?}")),
            stop: self.last_stop.map(|st| st.reason.name().to_string()),
            frames,
            selected_frame: self.frame,
            locals,
            stack,
            globals: s.globals().iter().map(val_pair).collect(),
            memory_addr: self.memory_addr,
            memory,
            changed,
            code,
            output,
            host_calls: Arc::new(host_calls),
            host_call_names: Arc::new(names),
            breakpoints,
            watchpoints,
        }
    }
}

/// Opens the trace in a new worker thread. Replies arrive on the returned receiver; the cancel
/// flag stops a long command.
pub fn spawn<R: Read + Seek + Send + 'static>(
    reader: TraceReader<R>,
    decoder: Option<deja_replayer::OutputDecoder>,
    options: SessionOptions,
    at: Option<u64>,
) -> (Sender<Command>, Receiver<Reply>, Arc<AtomicBool>) {
    let (command_tx, command_rx) = std::sync::mpsc::channel::<Command>();
    let (reply_tx, reply_rx) = std::sync::mpsc::channel::<Reply>();
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    std::thread::spawn(move || {
        let progress = |tx: Sender<Reply>, flag: Arc<AtomicBool>| -> Progress {
            let last = Mutex::new(Instant::now());
            Box::new(move |done, total| {
                let mut l = last.lock().unwrap_or_else(|e| e.into_inner());
                if l.elapsed().as_millis() >= 50 {
                    *l = Instant::now();
                    let _ = tx.send(Reply::Progress(done, total));
                }
                !flag.swap(false, Ordering::SeqCst)
            })
        };
        let session = match Session::open(
            reader,
            decoder,
            options,
            Some(progress(reply_tx.clone(), flag.clone())),
        ) {
            Ok(s) => s,
            Err(e) => {
                let _ = reply_tx.send(Reply::Error(format!("cannot open the trace: {e}")));
                return;
            }
        };
        let mut worker = Worker::new(session);
        worker
            .session
            .set_progress(Some(progress(reply_tx.clone(), flag.clone())));
        if let Some(p) = at {
            let _ = worker.execute(&Command::Seek(p));
        }
        let _ = reply_tx.send(Reply::View(Box::new(worker.view())));
        for command in command_rx {
            if command == Command::Quit {
                break;
            }
            flag.store(false, Ordering::SeqCst);
            match worker.execute(&command) {
                Ok(()) => {
                    let _ = reply_tx.send(Reply::View(Box::new(worker.view())));
                }
                Err(e) => {
                    let _ = reply_tx.send(Reply::Error(e));
                }
            }
        }
    });
    (command_tx, reply_rx, cancel)
}
