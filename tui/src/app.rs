//! The UI's state and how keys change it: `handle_key` turns a key into an [`Action`],
//! `update` applies it and says which [`Command`] (if any) the worker must run.

use crate::error::Error;
use crate::view::View;
use crate::worker::{Command, Movement, Reply};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

/// Which pane has the focus (Tab cycles).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// Disassembly.
    Code,
    /// Call stack.
    Frames,
    /// The locals pane: Up/Down select a C variable, Enter opens or closes it.
    Locals,
    /// Memory.
    Memory,
    /// Events: host calls, stop-point hits, the end.
    Events,
}

/// A one-line prompt at the bottom of the screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptKind {
    /// `g`: a position or a percentage.
    Goto,
    /// `w`: `ADDR LEN` or a C expression.
    Watch,
    /// `W`: a C expression whose last write to go back to.
    LastWrite,
    /// `m`: a memory address to show.
    Memory,
    /// `D`: the id of a breakpoint or watchpoint to delete.
    Delete,
    /// `p`: a C expression to print.
    Print,
    /// `B`: a breakpoint on `FILE:LINE` or a function.
    Break,
}

/// What a key asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// A movement.
    Move(Movement),
    /// Toggle a breakpoint at the code cursor.
    ToggleBreakpoint,
    /// Open a prompt.
    Prompt(PromptKind),
    /// A typed character in the prompt.
    PromptChar(char),
    /// Backspace in the prompt.
    PromptBackspace,
    /// Enter in the prompt.
    PromptSubmit,
    /// Esc: close the prompt or help, or cancel a long operation.
    Escape,
    /// Cycle the focus.
    NextFocus,
    /// Move the cursor of the focused pane (code line, frame, memory row, host call).
    Cursor(i64),
    /// Select the frame below / above (callee / caller).
    Frame(i64),
    /// Enter in the event list: go there.
    Activate,
    /// Toggle the help.
    Help,
    /// Show the C variables or the raw Wasm locals in the locals pane.
    ToggleLocals,
    /// `x`: values in hex or decimal.
    ToggleHex,
    /// `v`: show `v128` values as one hex number, then as each lane shape in turn.
    CycleLanes,
    /// Jump to a fraction of the run (mouse on the timeline), in thousandths.
    Timeline(u64),
    /// Select a frame by its index (mouse on the call stack).
    SelectFrame(usize),
    /// Quit.
    Quit,
}

/// The whole UI state.
#[derive(Debug)]
pub struct App {
    /// The latest view from the worker.
    pub view: Option<View>,
    /// Focused pane.
    pub focus: Focus,
    /// Selected line in the code window (index into `view.code`).
    pub code_cursor: Option<usize>,
    /// Selected event (index into `view.events`).
    pub event_cursor: usize,
    /// The selected row of the C variables' tree (focus on the locals pane).
    pub locals_cursor: usize,
    /// A long operation in progress: (what, done, total).
    pub busy: Option<(String, u64, u64)>,
    /// The open prompt and its text.
    pub prompt: Option<(PromptKind, String)>,
    /// Whether the prompt's text is a suggestion that the first typed character replaces
    /// (Enter takes it, Backspace edits it).
    pub suggested: bool,
    /// Whether the help is shown.
    pub help: bool,
    /// Whether the locals pane shows the raw Wasm locals instead of the C variables.
    pub wasm_locals: bool,
    /// `x`: values in hex.
    pub hex: bool,
    /// `v`: how `v128` values are shown: 0 as one hex number, else as the lane shape
    /// `LANE_SHAPES[lanes - 1]`.
    pub lanes: usize,
    /// The last error, shown in the status line.
    pub message: Option<String>,
    /// Set by `q`.
    pub quit: bool,
    /// Where the timeline was last drawn (x, y, width), for mouse clicks.
    pub timeline_area: std::cell::Cell<(u16, u16, u16)>,
    /// Where the frames pane was last drawn (x, y, width, height), for mouse clicks.
    pub frames_area: std::cell::Cell<(u16, u16, u16, u16)>,
    /// The frame each row of the frames pane shows (inlined calls take a row each).
    pub frame_rows: std::cell::RefCell<Vec<usize>>,
    /// Whether to use colours (off when `NO_COLOR` is set): without them, everything that
    /// colour marks is also marked by a symbol, bold or reverse video.
    pub color: bool,
    /// The worker thread has ended: only quitting is left.
    pub worker_gone: bool,
}

impl Default for App {
    fn default() -> Self {
        App {
            view: None,
            focus: Focus::Code,
            code_cursor: None,
            event_cursor: 0,
            locals_cursor: 0,
            busy: Some(("opening the trace".into(), 0, 0)),
            prompt: None,
            suggested: false,
            help: false,
            wasm_locals: false,
            hex: false,
            lanes: 0,
            message: None,
            quit: false,
            timeline_area: std::cell::Cell::new((0, 0, 0)),
            frames_area: std::cell::Cell::new((0, 0, 0, 0)),
            frame_rows: std::cell::RefCell::new(Vec::new()),
            color: true,
            worker_gone: false,
        }
    }
}

impl App {
    /// The action a key asks for in the current state.
    pub fn handle_key(&self, key: KeyEvent) -> Option<Action> {
        if self.prompt.is_some() {
            return match key.code {
                KeyCode::Enter => Some(Action::PromptSubmit),
                KeyCode::Esc => Some(Action::Escape),
                KeyCode::Backspace => Some(Action::PromptBackspace),
                KeyCode::Char(c) => Some(Action::PromptChar(c)),
                _ => None,
            };
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            // As in gdb: Ctrl-C interrupts a movement in progress; otherwise it quits.
            return Some(if self.busy.is_some() {
                Action::Escape
            } else {
                Action::Quit
            });
        }
        Some(match key.code {
            KeyCode::Char('s') => Action::Move(Movement::Step),
            KeyCode::Char('S') => Action::Move(Movement::ReverseStep),
            KeyCode::Char('i') => Action::Move(Movement::StepInstruction),
            KeyCode::Char('I') => Action::Move(Movement::ReverseStepInstruction),
            KeyCode::Char('n') => Action::Move(Movement::Next),
            KeyCode::Char('N') => Action::Move(Movement::ReverseNext),
            KeyCode::Char('f') => Action::Move(Movement::Finish),
            KeyCode::Char('F') => Action::Move(Movement::ReverseFinish),
            KeyCode::Char('c') => Action::Move(Movement::Continue),
            KeyCode::Char('C') => Action::Move(Movement::ReverseContinue),
            KeyCode::Char('[') => Action::Move(Movement::PrevHostCall),
            KeyCode::Char(']') => Action::Move(Movement::NextHostCall),
            KeyCode::Home => Action::Move(Movement::Start),
            KeyCode::End => Action::Move(Movement::End),
            KeyCode::Char('b') => Action::ToggleBreakpoint,
            KeyCode::Char('w') => Action::Prompt(PromptKind::Watch),
            KeyCode::Char('W') => Action::Prompt(PromptKind::LastWrite),
            KeyCode::Char('x') => Action::ToggleHex,
            KeyCode::Char('v') => Action::CycleLanes,
            KeyCode::Char('g') => Action::Prompt(PromptKind::Goto),
            KeyCode::Char('m') => Action::Prompt(PromptKind::Memory),
            KeyCode::Char('D') => Action::Prompt(PromptKind::Delete),
            KeyCode::Char('p') => Action::Prompt(PromptKind::Print),
            KeyCode::Char('B') => Action::Prompt(PromptKind::Break),
            KeyCode::Char('u') => Action::Frame(1),
            KeyCode::Char('d') => Action::Frame(-1),
            KeyCode::Tab => Action::NextFocus,
            KeyCode::Up | KeyCode::Char('k') => Action::Cursor(-1),
            KeyCode::Down | KeyCode::Char('j') => Action::Cursor(1),
            KeyCode::PageUp => Action::Cursor(-10),
            KeyCode::PageDown => Action::Cursor(10),
            KeyCode::Enter => Action::Activate,
            KeyCode::Char('?') => Action::Help,
            KeyCode::Char('L') => Action::ToggleLocals,
            KeyCode::Esc => Action::Escape,
            KeyCode::Char('q') => Action::Quit,
            _ => return None,
        })
    }

    /// The action a mouse event asks for: a click on the timeline jumps there, a click on a
    /// frame selects it.
    pub fn handle_mouse(&self, m: MouseEvent) -> Option<Action> {
        let (fx, fy, fw, fh) = self.frames_area.get();
        if m.kind == MouseEventKind::Down(MouseButton::Left)
            && m.column > fx
            && m.column < fx + fw.saturating_sub(1)
            && m.row > fy
            && m.row < fy + fh.saturating_sub(1)
        {
            let row = usize::from(m.row - fy - 1);
            let frame = self.frame_rows.borrow().get(row).copied().unwrap_or(row);
            return Some(Action::SelectFrame(frame));
        }
        let (x, y, w) = self.timeline_area.get();
        if m.kind == MouseEventKind::Down(MouseButton::Left)
            && m.row == y
            && m.column >= x
            && m.column < x + w
            && w > 1
        {
            return Some(Action::Timeline(
                u64::from(m.column - x) * 1000 / u64::from(w - 1),
            ));
        }
        None
    }

    /// Applies an action; returns the command the worker must run, if any. While a command
    /// runs, only Escape (cancel), help and quit are taken.
    pub fn update(&mut self, action: Action) -> Option<Command> {
        if self.busy.is_some() && !matches!(action, Action::Escape | Action::Quit | Action::Help) {
            return None;
        }
        if self.worker_gone && !matches!(action, Action::Quit | Action::Help) {
            return None;
        }
        self.message = None;
        match action {
            Action::Quit => {
                self.quit = true;
                Some(Command::Quit)
            }
            Action::Help => {
                self.help = !self.help;
                None
            }
            Action::ToggleHex => {
                self.hex = !self.hex;
                self.message = Some(
                    if self.hex {
                        "values in hex"
                    } else {
                        "values in decimal"
                    }
                    .into(),
                );
                Some(Command::Hex(self.hex))
            }
            Action::CycleLanes => {
                self.lanes = (self.lanes + 1) % (crate::worker::LANE_SHAPES.len() + 1);
                self.message = Some(match self.lanes {
                    0 => "v128 values as one hex number".into(),
                    k => format!("v128 values as {}", crate::worker::LANE_SHAPES[k - 1]),
                });
                Some(Command::Lanes(self.lanes))
            }
            Action::ToggleLocals => {
                self.wasm_locals = !self.wasm_locals;
                None
            }
            Action::Escape => {
                if self.prompt.take().is_none() {
                    self.help = false;
                }
                None
            }
            Action::Move(m) => self.start(m.doing().into(), Command::Move(m)),
            Action::Timeline(permille) => {
                self.start("going there".into(), Command::SeekPermille(permille))
            }
            Action::ToggleBreakpoint => {
                let view = self.view.as_ref()?;
                let line = self
                    .code_cursor
                    .or_else(|| view.code.iter().position(|l| l.current))?;
                match view.code.get(line).and_then(|l| l.offset) {
                    Some(offset) => self.start(
                        "finding where the stop points hit".into(),
                        Command::ToggleBreakpoint(offset),
                    ),
                    None => {
                        self.message = Some("no instruction on this line".into());
                        None
                    }
                }
            }
            Action::Prompt(kind) => {
                // `w` offers the memory the next instruction reads or writes.
                let text = match (&kind, self.view.as_ref().and_then(|v| v.access.as_ref())) {
                    (PromptKind::Watch, Some(a)) => format!("{:#x} {}", a.addr, a.len),
                    _ => String::new(),
                };
                self.suggested = !text.is_empty();
                self.prompt = Some((kind, text));
                None
            }
            Action::PromptChar(c) => {
                if let Some((_, text)) = &mut self.prompt {
                    if std::mem::take(&mut self.suggested) {
                        text.clear();
                    }
                    text.push(c);
                }
                None
            }
            Action::PromptBackspace => {
                self.suggested = false;
                if let Some((_, text)) = &mut self.prompt {
                    text.pop();
                }
                None
            }
            Action::PromptSubmit => {
                let (kind, text) = self.prompt.take()?;
                match parse_prompt(&kind, text.trim()) {
                    Ok(cmd @ (Command::Seek(_) | Command::SeekPermille(_))) => {
                        self.start("going there".into(), cmd)
                    }
                    Ok(cmd @ (Command::Watch(..) | Command::WatchExpr(_) | Command::Delete(_))) => {
                        self.start("finding where the stop points hit".into(), cmd)
                    }
                    Ok(cmd @ Command::LastWrite(_)) => {
                        self.start("going back to the last write".into(), cmd)
                    }
                    Ok(cmd) => Some(cmd),
                    Err(e) => {
                        self.message = Some(e.to_string());
                        None
                    }
                }
            }
            Action::NextFocus => {
                self.focus = match self.focus {
                    Focus::Code => Focus::Frames,
                    Focus::Frames => Focus::Locals,
                    Focus::Locals => Focus::Memory,
                    Focus::Memory => Focus::Events,
                    Focus::Events => Focus::Code,
                };
                None
            }
            Action::SelectFrame(f) => {
                let view = self.view.as_ref()?;
                if f >= view.frames.len() {
                    return None;
                }
                self.code_cursor = None;
                Some(Command::SelectFrame(f))
            }
            Action::Frame(delta) => {
                let view = self.view.as_ref()?;
                let f = (view.selected_frame as i64 + delta)
                    .clamp(0, view.frames.len().saturating_sub(1) as i64);
                self.code_cursor = None;
                Some(Command::SelectFrame(f as usize))
            }
            Action::Cursor(delta) => {
                let view = self.view.as_ref()?;
                match self.focus {
                    Focus::Code => {
                        let current = self
                            .code_cursor
                            .or_else(|| view.code.iter().position(|l| l.current))
                            .unwrap_or(0) as i64;
                        let max = view.code.len().saturating_sub(1) as i64;
                        self.code_cursor = Some((current + delta).clamp(0, max) as usize);
                        None
                    }
                    Focus::Frames => self.update(Action::Frame(delta)),
                    Focus::Locals => {
                        let n = view.variables.as_ref().map_or(0, Vec::len);
                        let max = n.saturating_sub(1) as i64;
                        self.locals_cursor =
                            (self.locals_cursor as i64 + delta).clamp(0, max) as usize;
                        None
                    }
                    Focus::Memory => {
                        let addr = view.memory_addr as i64 + delta * 16;
                        Some(Command::MemoryAt(addr.max(0) as u64))
                    }
                    Focus::Events => {
                        let max = view.events.len().saturating_sub(1) as i64;
                        self.event_cursor =
                            (self.event_cursor as i64 + delta).clamp(0, max) as usize;
                        None
                    }
                }
            }
            Action::Activate => {
                let view = self.view.as_ref()?;
                if self.focus == Focus::Events {
                    let p = view.events.get(self.event_cursor)?.position;
                    return self.start("going to the event".into(), Command::Seek(p));
                }
                if self.focus == Focus::Locals && !self.wasm_locals {
                    let row = view.variables.as_ref()?.get(self.locals_cursor)?;
                    if row.expandable {
                        return Some(Command::Expand(row.key.clone()));
                    }
                }
                None
            }
        }
    }

    fn start(&mut self, what: String, command: Command) -> Option<Command> {
        self.busy = Some((what, 0, 0));
        Some(command)
    }

    /// Takes a reply from the worker.
    pub fn receive(&mut self, reply: Reply) {
        match reply {
            Reply::View(v) => {
                self.busy = None;
                self.code_cursor = None;
                self.event_cursor = v
                    .events
                    .iter()
                    .rposition(|e| e.position <= v.position)
                    .unwrap_or(0);
                if let Some(note) = &v.note {
                    self.message = Some(note.clone());
                }
                self.view = Some(*v);
            }
            Reply::Failed(v, e) => {
                self.receive(Reply::View(v));
                self.message = Some(e);
            }
            Reply::Progress(done, total) => {
                if let Some(b) = &mut self.busy {
                    b.1 = done;
                    b.2 = total;
                }
            }
            Reply::Error(e) => {
                self.busy = None;
                self.message = Some(e);
            }
            Reply::Crashed(e) => {
                self.busy = None;
                self.worker_gone = true;
                self.message = Some(format!(
                    "internal error (a bug in deja): the worker stopped ({e}); q quits"
                ));
            }
        }
    }

    /// The worker thread has ended (after a crash, or after failing to open the trace): there
    /// is nobody left to run commands.
    pub fn worker_ended(&mut self) {
        self.busy = None;
        if !self.worker_gone {
            self.worker_gone = true;
            if self.message.is_none() {
                self.message =
                    Some("internal error (a bug in deja): the worker stopped; q quits".into());
            }
        }
    }
}

fn parse_number(s: &str) -> Result<u64, Error> {
    crate::batch::parse_number(s)
}

/// What a submitted prompt asks for.
fn parse_prompt(kind: &PromptKind, text: &str) -> Result<Command, Error> {
    match kind {
        PromptKind::Goto => match text.strip_suffix('%') {
            Some(pct) => {
                let pct: f64 = pct
                    .trim()
                    .parse()
                    .map_err(|_| Error::Command(format!("`{text}` is not a percentage")))?;
                Ok(Command::SeekPermille((pct.clamp(0.0, 100.0) * 10.0) as u64))
            }
            None => Ok(Command::Seek(parse_number(text)?)),
        },
        PromptKind::Watch => {
            let parts: Vec<&str> = text.split_whitespace().collect();
            let numbers: Option<Vec<u64>> = parts.iter().map(|p| parse_number(p).ok()).collect();
            match numbers.as_deref() {
                Some([]) => Err("type ADDR LEN or a C expression".into()),
                Some([addr]) => Ok(Command::Watch(*addr, 4)),
                Some([addr, len]) => Ok(Command::Watch(*addr, *len)),
                // Anything else is a C expression: its value's bytes.
                _ => Ok(Command::WatchExpr(text.to_string())),
            }
        }
        PromptKind::LastWrite if text.is_empty() => Err("type a C expression".into()),
        PromptKind::LastWrite => Ok(Command::LastWrite(text.to_string())),
        PromptKind::Memory => Ok(Command::MemoryAt(parse_number(text)?)),
        PromptKind::Print => Ok(Command::Print(text.to_string())),
        PromptKind::Break => Ok(Command::BreakAt(text.to_string())),
        PromptKind::Delete => {
            let id = parse_number(text)?;
            Ok(Command::Delete(u32::try_from(id).map_err(|_| {
                format!("no breakpoint or watchpoint {id}")
            })?))
        }
    }
}
