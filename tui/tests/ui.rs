//! The terminal UI driven headlessly: scripted keys against ratatui's `TestBackend`, screens
//! compared with insta snapshots (`tests/snapshots/`; regenerate with `INSTA_UPDATE=always`
//! after checking the change is intended).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use deja_tui::app::App;
use deja_tui::view::EventKind;
use deja_tui::worker::{Command, Reply, spawn};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::sync::mpsc::{Receiver, Sender};

fn divide_trace() -> Vec<u8> {
    let module = deja_runtime::Module::from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/wat/divide.wat"
    ))
    .unwrap();
    record(&module)
}

/// A trace of `module` (no imports) run to its end.
fn record(module: &deja_runtime::Module) -> Vec<u8> {
    let mut store = deja_runtime::Store::new(deja_runtime::Config::default(), ());
    let (_, bytes) = deja_recorder::record(
        &mut store,
        &deja_runtime::Linker::new(),
        module,
        Vec::new(),
        deja_recorder::Settings::new("test"),
    )
    .unwrap();
    bytes
}

struct Harness {
    app: App,
    commands: Sender<Command>,
    replies: Receiver<Reply>,
}

/// The bundled trace of a failing run of the flaky example (`examples/flaky/trap.deja`).
fn flaky_trace() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/flaky/trap.deja"
    ))
    .expect("the bundled trace; examples/flaky/record-trap.sh records it")
}

impl Harness {
    fn new() -> Harness {
        Harness::open(divide_trace())
    }

    fn open(trace: Vec<u8>) -> Harness {
        let reader = deja_traces::TraceReader::new(std::io::Cursor::new(trace)).unwrap();
        let sources = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/flaky"
        ))];
        let (commands, replies, _cancel) = spawn(
            reader,
            Some(deja_runtime::wasi::pending_output),
            Default::default(),
            None,
            sources,
        );
        let mut h = Harness {
            app: App::default(),
            commands,
            replies,
        };
        h.wait();
        h
    }

    /// Takes replies until the worker has answered (the app is no longer busy).
    fn wait(&mut self) {
        while self.app.busy.is_some() {
            let reply = self.replies.recv().expect("worker alive");
            let done = matches!(reply, Reply::View(_) | Reply::Failed(..) | Reply::Error(_));
            self.app.receive(reply);
            if done {
                break;
            }
        }
    }

    fn key(&mut self, code: KeyCode) {
        let modifiers = match code {
            KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
            _ => KeyModifiers::NONE,
        };
        let Some(action) = self.app.handle_key(KeyEvent::new(code, modifiers)) else {
            return;
        };
        if let Some(cmd) = self.app.update(action) {
            let quit = cmd == Command::Quit;
            self.commands.send(cmd).unwrap();
            if quit {
                return;
            }
            self.app.busy.get_or_insert(("command".into(), 0, 0));
            self.wait();
        }
    }

    fn screen(&self) -> String {
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        t.draw(|f| f.render_widget(&self.app, f.area())).unwrap();
        let buf = t.backend().buffer().clone();
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn position(&self) -> u64 {
        self.app.view.as_ref().unwrap().position
    }

    fn keys(&mut self, keys: &str) {
        for c in keys.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    fn view(&self) -> &deja_tui::view::View {
        self.app.view.as_ref().unwrap()
    }

    /// Reverse-steps by instruction until the next instruction is a load (as a user would,
    /// reading the code pane); returns how many steps that took.
    fn back_to_a_load(&mut self) -> usize {
        for n in 1..=8 {
            self.key(KeyCode::Char('I'));
            if self.view().access.as_ref().is_some_and(|a| !a.write) {
                return n;
            }
        }
        panic!("no load within 8 steps back:\n{}", self.screen());
    }

    /// `w`, taking the offered range of the next instruction's access, then Enter.
    fn watch_the_offered_range(&mut self) -> (u64, u64) {
        let a = self.view().access.clone().expect("a memory access");
        self.key(KeyCode::Char('w'));
        let (_, text) = self.app.prompt.clone().expect("the watch prompt");
        assert_eq!(text, format!("{:#x} {}", a.addr, a.len));
        self.key(KeyCode::Enter);
        (a.addr, a.len)
    }
}

#[test]
fn opens_at_the_trap_and_travels_back_across_calls_and_breakpoints() {
    let mut h = Harness::new();
    assert_eq!(h.position(), 63);
    insta::assert_snapshot!("opens_at_the_trap", h.screen());

    h.key(KeyCode::Char('S'));
    assert_eq!(h.position(), 62);
    insta::assert_snapshot!("reverse_step", h.screen());

    // Out of $average, back to the call in _start.
    h.key(KeyCode::Char('F'));
    let v = h.app.view.as_ref().unwrap();
    assert_eq!(v.frames.len(), 1);
    insta::assert_snapshot!("reverse_finish_to_the_call", h.screen());

    // Back over the whole call to $count.
    h.key(KeyCode::Char('N'));
    insta::assert_snapshot!("reverse_next_over_a_call", h.screen());
    let at_count_call = h.position();

    // A breakpoint there, then from the end reverse-continue finds it.
    h.key(KeyCode::Char('b'));
    assert_eq!(h.app.view.as_ref().unwrap().breakpoints.len(), 1);
    h.key(KeyCode::End);
    assert_eq!(h.position(), 63);
    h.key(KeyCode::Char('C'));
    assert_eq!(h.position(), at_count_call);
    assert_eq!(
        h.app.view.as_ref().unwrap().stop.as_deref(),
        Some("breakpoint 1")
    );
    insta::assert_snapshot!("reverse_continue_to_the_breakpoint", h.screen());

    // Forward again: step into $count and see its local.
    h.key(KeyCode::Char('s'));
    h.key(KeyCode::Char('s'));
    h.key(KeyCode::Char('s'));
    insta::assert_snapshot!("stepped_into_count", h.screen());

    h.key(KeyCode::Char('?'));
    insta::assert_snapshot!("help", h.screen());
    h.key(KeyCode::Esc);
    h.key(KeyCode::Char('q'));
    assert!(h.app.quit);
}

/// The issue's "done when": open the flaky example's trace at the trap, and find where the
/// zero divisor came from with reverse steps and watchpoints only, down to the random bytes
/// the host gave the guest.
#[test]
fn flaky_walkthrough_from_the_trap_to_the_random_bytes() {
    let mut h = Harness::open(flaky_trace());
    let end = h.view().end;
    assert_eq!(h.position(), end);
    let screen = h.screen();
    assert!(screen.contains("integer divide by zero"), "{screen}");
    assert!(screen.contains("return total / last_q"), "{screen}");
    assert!(
        screen.contains("▶") && screen.contains("i32.div_s"),
        "{screen}"
    );
    // The divisor, on top of the stack, is 0.
    assert_eq!(h.view().stack.last().unwrap().1, "0");
    insta::assert_snapshot!("flaky_opens_at_the_trap", screen);

    // One step back: the load of `last_quantity`, whose address the code pane shows.
    assert_eq!(h.back_to_a_load(), 1);
    insta::assert_snapshot!("flaky_the_load_of_the_divisor", h.screen());
    let (quantity, _) = h.watch_the_offered_range();
    assert_eq!(h.view().watchpoints, vec![(1, quantity, 4)]);

    // Reverse-continue: the store of `last_quantity` (a stop lands right after the write).
    h.key(KeyCode::Char('C'));
    assert_eq!(
        h.view().stop.as_deref(),
        Some(format!("watchpoint 1 (4 bytes at {quantity:#x}) written").as_str())
    );
    insta::assert_snapshot!("flaky_the_store_of_the_divisor", h.screen());

    // Back to the load the stored value came from: `basket[lines - 1].quantity`.
    h.back_to_a_load();
    let (basket_quantity, _) = h.watch_the_offered_range();
    h.key(KeyCode::Char('C'));
    assert_eq!(
        h.view().stop.as_deref(),
        Some(format!("watchpoint 2 (4 bytes at {basket_quantity:#x}) written").as_str())
    );
    assert_eq!(h.view().frames[0].name, "__original_main");
    insta::assert_snapshot!("flaky_the_store_of_the_quantity", h.screen());

    // The quantity is `seed[8 + i] % 8`: back to the load of the seed byte, watch it, and
    // reverse-continue lands right after the host call that wrote it.
    h.back_to_a_load();
    let (seed, len) = h.watch_the_offered_range();
    assert_eq!(len, 1);
    h.key(KeyCode::Char('C'));
    let v = h.view();
    assert_eq!(
        v.stop.as_deref(),
        Some(format!("watchpoint 3 (1 byte at {seed:#x}) written").as_str())
    );
    let k = v
        .host_calls
        .iter()
        .rposition(|&p| p < v.position)
        .expect("a host call before");
    assert_eq!(v.host_calls[k] + 1, v.position);
    assert_eq!(v.host_call_names[k], "wasi_snapshot_preview1::random_get");
    insta::assert_snapshot!("flaky_the_random_bytes", h.screen());
}

#[test]
fn prompts_go_to_positions_and_watch_memory() {
    let mut h = Harness::new();
    for c in "g10".chars() {
        h.key(KeyCode::Char(c));
    }
    h.key(KeyCode::Enter);
    assert_eq!(h.position(), 10);
    for c in "g50%".chars() {
        h.key(KeyCode::Char(c));
    }
    h.key(KeyCode::Enter);
    assert_eq!(h.position(), 31);
    // Watch the count at address 0, go to the end, reverse-continue: the store of the count.
    for c in "w0 4".chars() {
        h.key(KeyCode::Char(c));
    }
    h.key(KeyCode::Enter);
    h.key(KeyCode::End);
    h.key(KeyCode::Char('C'));
    let v = h.app.view.as_ref().unwrap();
    assert_eq!(
        v.stop.as_deref(),
        Some("watchpoint 1 (4 bytes at 0x0) written")
    );
    assert_eq!(v.frames[0].name, "count");
    insta::assert_snapshot!("reverse_continue_to_the_write", h.screen());
    // A bad prompt is a message, not a crash.
    for c in "gnope".chars() {
        h.key(KeyCode::Char(c));
    }
    h.key(KeyCode::Enter);
    assert!(h.app.message.as_deref().unwrap().contains("not a number"));
}

#[test]
fn mouse_clicks_select_frames_and_jump_on_the_timeline() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut h = Harness::new();
    let _ = h.screen(); // lays out the panes
    let click = |column, row| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    // The frames pane is at the top right of an 80x24 screen: frame 1 is on its third row.
    let (fx, fy, _, _) = h.app.frames_area.get();
    let action = h.app.handle_mouse(click(fx + 3, fy + 2)).unwrap();
    let cmd = h.app.update(action).unwrap();
    assert_eq!(cmd, Command::SelectFrame(1));
    h.commands.send(cmd).unwrap();
    h.app.busy = Some(("frame".into(), 0, 0));
    h.wait();
    assert_eq!(h.app.view.as_ref().unwrap().selected_frame, 1);
    // The middle of the timeline (row 22) is the middle of the run.
    let (x, y, w) = h.app.timeline_area.get();
    let action = h.app.handle_mouse(click(x + w / 2, y)).unwrap();
    let cmd = h.app.update(action).unwrap();
    h.commands.send(cmd).unwrap();
    h.wait();
    let p = h.position();
    assert!((28..=35).contains(&p), "position {p}");
}

#[test]
fn small_and_large_terminals_render() {
    let h = Harness::new();
    for (w, height) in [(80, 24), (60, 16), (200, 60), (20, 5), (59, 30), (100, 15)] {
        let mut t = Terminal::new(TestBackend::new(w, height)).unwrap();
        t.draw(|f| f.render_widget(&h.app, f.area())).unwrap();
        let buf = t.backend().buffer();
        let text: String = buf.content().iter().map(|c| c.symbol()).collect();
        // Too small for the layout: says so instead of drawing a garbled screen.
        let too_small = w < 60 || height < 16;
        assert_eq!(
            text.contains("too small"),
            too_small,
            "{w}x{height}: {text}"
        );
    }
}

/// With `NO_COLOR`, nothing is coloured, and what colour marks is still marked: the current
/// instruction by ▶, the focused pane by a reversed title, changed memory bytes reversed.
#[test]
fn without_colours_everything_is_still_marked() {
    use ratatui::style::{Color, Modifier};
    let mut h = Harness::open(flaky_trace());
    h.app.color = false;
    // The first byte of the memory pane changed in the last movement.
    h.app.view.as_mut().unwrap().changed[0] = true;
    let mut t = Terminal::new(TestBackend::new(100, 30)).unwrap();
    t.draw(|f| f.render_widget(&h.app, f.area())).unwrap();
    let buf = t.backend().buffer();
    let line = |y: u16| -> String { (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect() };
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            assert_eq!(
                (c.fg, c.bg),
                (Color::Reset, Color::Reset),
                "colour at {x},{y}"
            );
        }
    }
    assert!((0..buf.area.height).any(|y| line(y).contains('▶')));
    let reversed = |x: u16, y: u16| buf[(x, y)].modifier.contains(Modifier::REVERSED);
    // The focused pane (code) has a reversed title; an unfocused one (frames) has not.
    let top = line(0);
    let col = |s: &str, needle: &str| s[..s.find(needle).unwrap()].chars().count() as u16;
    assert!(reversed(col(&top, "code:"), 0));
    assert!(!reversed(col(&top, "frames"), 0));
    // The changed byte, and not the one after it.
    let y = (0..buf.area.height)
        .find(|&y| line(y).contains("│00000000 "))
        .expect("the memory pane");
    let x = col(&line(y), "00000000 ") + 9;
    assert!(reversed(x, y) && reversed(x + 1, y));
    assert!(!reversed(x + 3, y));
}

#[test]
fn breakpoint_hits_are_events_on_the_timeline_and_enter_goes_there() {
    let mut h = Harness::new();
    // The instruction before the division: `local.get $count`, run once, at 62.
    h.key(KeyCode::Up);
    h.key(KeyCode::Char('b'));
    let v = h.view();
    assert_eq!(v.breakpoints.len(), 1);
    let hits: Vec<_> = v
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Breakpoint(1)))
        .map(|e| e.position)
        .collect();
    assert_eq!(hits, vec![62]);
    assert!(v.hits_complete);
    let screen = h.screen();
    let timeline = screen.lines().nth(22).unwrap();
    assert!(timeline.contains('●') && timeline.contains('█'), "{screen}");
    // The event list: Tab to it, up from the end to the hit, Enter goes there.
    for _ in 0..4 {
        h.key(KeyCode::Tab);
    }
    assert_eq!(h.app.focus, deja_tui::app::Focus::Events);
    h.key(KeyCode::Up);
    h.key(KeyCode::Enter);
    assert_eq!(h.position(), 62);
    assert!(h.screen().contains("▶● @62"));
    // D deletes it: the hit is gone from the list and the timeline.
    h.keys("D1");
    h.key(KeyCode::Enter);
    let v = h.view();
    assert!(v.breakpoints.is_empty());
    assert!(v.events.iter().all(|e| e.kind == EventKind::End));
    assert!(!h.screen().lines().nth(22).unwrap().contains('●'));
    // Deleting it again is an error message, not a crash.
    h.keys("D1");
    h.key(KeyCode::Enter);
    assert!(h.app.message.as_deref().unwrap().contains("no breakpoint"));
}

/// A breakpoint on the instruction right after a watched store hits at the same position as
/// the watchpoint: the event list has both.
#[test]
fn a_breakpoint_and_a_watchpoint_at_one_position_are_both_listed() {
    let mut h = Harness::new();
    h.keys("g57");
    h.key(KeyCode::Enter);
    assert_eq!(h.view().frames[0].pc, 0x78);
    h.key(KeyCode::Char('b'));
    h.keys("w0 4");
    h.key(KeyCode::Enter);
    let at_57: Vec<EventKind> = h
        .view()
        .events
        .iter()
        .filter(|e| e.position == 57)
        .map(|e| e.kind)
        .collect();
    assert!(
        at_57.contains(&EventKind::Breakpoint(1)) && at_57.contains(&EventKind::Watchpoint(2)),
        "{at_57:?}"
    );
    assert!(h.view().hits_complete);
    assert_eq!(h.position(), 57);
}

/// The output pane keeps the order in which the guest wrote stdout and stderr (it used to put
/// all of stderr after all of stdout).
#[test]
fn output_pane_interleaves_stdout_and_stderr_as_written() {
    use deja_runtime::wasi::{self, OutputSink, WasiCtx, WasiCtxBuilder};
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 100) "out1\0aerr\0aout2\0a")
      (func $put (param $fd i32) (param $at i32) (param $n i32)
        (i32.store (i32.const 0) (local.get $at)) (i32.store (i32.const 4) (local.get $n))
        (drop (call $w (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
      (func (export "_start")
        (call $put (i32.const 1) (i32.const 100) (i32.const 5))
        (call $put (i32.const 2) (i32.const 105) (i32.const 4))
        (call $put (i32.const 1) (i32.const 109) (i32.const 5))))"#;
    let module = deja_runtime::Module::new(wat.as_bytes()).unwrap();
    let (stdout, _) = OutputSink::buffer();
    let (stderr, _) = OutputSink::buffer();
    let ctx = WasiCtxBuilder::new()
        .stdout(stdout)
        .stderr(stderr)
        .build()
        .unwrap();
    let mut store = deja_runtime::Store::new(deja_runtime::Config::default(), ctx);
    let mut linker = deja_runtime::Linker::new();
    wasi::add_to_linker(&mut linker, |c: &mut WasiCtx| c);
    let (_, bytes) = deja_recorder::record(
        &mut store,
        &linker,
        &module,
        Vec::new(),
        deja_recorder::Settings::new("test"),
    )
    .unwrap();
    let h = Harness::open(bytes);
    assert_eq!(h.view().output, "out1\nerr\nout2\n");
    assert!(h.screen().contains("err"), "{}", h.screen());
}

/// A panic in the worker thread (a bug in deja) is shown as an internal error, commands stop,
/// and `q` still quits (the UI used to stay busy forever).
#[test]
fn a_worker_that_panics_is_reported_and_the_ui_still_quits() {
    let mut h = Harness::new();
    h.commands.send(Command::Crash).unwrap();
    let reply = h.replies.recv().expect("the worker reports its crash");
    assert!(matches!(&reply, Reply::Crashed(m) if m.contains("crash requested")));
    h.app.receive(reply);
    assert!(h.app.busy.is_none());
    assert!(h.screen().contains("internal error"), "{}", h.screen());
    // Nothing is sent to the dead worker; q quits.
    assert_eq!(
        h.app.update(deja_tui::app::Action::Move(
            deja_tui::worker::Movement::Step
        )),
        None
    );
    assert_eq!(
        h.app.update(deja_tui::app::Action::Quit),
        Some(Command::Quit)
    );
    assert!(h.app.quit);
}

/// The event list shows the latest host call with its arguments, result and the memory it
/// wrote (it used to show only the function's name).
#[test]
fn the_event_list_shows_a_host_calls_arguments_and_result() {
    let mut h = Harness::open(flaky_trace());
    let screen = h.screen();
    // The flaky example's last call before the trap: its arguments and result in full.
    let detail = h
        .view()
        .call_detail
        .clone()
        .expect("a host call before the trap");
    assert!(
        detail.1.contains('(') && detail.1.contains(')'),
        "{detail:?}"
    );
    let start: String = detail.1.chars().take(20).collect();
    assert!(screen.contains(&start), "{screen}");
    // At the start no call has been made yet; `]` goes to the first one.
    h.key(KeyCode::Home);
    assert_eq!(h.view().call_detail, None);
    h.keys("]");
    assert_eq!(h.position(), h.view().host_calls[0]);
    let detail = h.view().call_detail.clone().expect("the first call");
    assert_eq!(detail.0, 0);
    // The flaky example's first call asks WASI for its preopened directory.
    assert_eq!(
        detail.1,
        "fd_prestat_get(3, 71496) → 0, wrote 8 bytes at 0x11748"
    );
    assert!(
        h.screen().contains("fd_prestat_get(3, 71496)"),
        "{}",
        h.screen()
    );
}

/// With DWARF the locals pane shows the frame's C variables (optimized-out ones say so);
/// `L` shows the raw Wasm locals and back.
#[test]
fn the_locals_pane_shows_c_variables_and_l_the_wasm_locals() {
    let mut h = Harness::open(flaky_trace());
    let screen = h.screen();
    assert!(screen.contains("C variables, frame 0"), "{screen}");
    assert!(screen.contains("basket = 0x"), "{screen}");
    assert!(screen.contains("total = <optimized out>"), "{screen}");
    let vars = h.view().variables.clone().expect("DWARF for this frame");
    assert!(
        vars.iter()
            .any(|r| r.name == "basket" && r.ty == "const struct line *"),
        "{vars:?}"
    );
    h.key(KeyCode::Char('L'));
    let screen = h.screen();
    assert!(screen.contains("locals of frame 0 (L: C)"), "{screen}");
    assert!(screen.contains(" 0 i32  70912"), "{screen}");
    h.key(KeyCode::Char('L'));
    assert!(h.screen().contains("C variables, frame 0"));
    // The frames pane: the inlined call and its caller, both Wasm frame 0, with their lines.
    assert!(
        screen.contains(" 0 average_per_unit flaky.c:50"),
        "{screen}"
    );
    assert!(screen.contains(" 0 main flaky.c:74"), "{screen}");
    assert_eq!(h.app.frame_rows.borrow()[..3], [0, 0, 1]);
}

/// `p` prints a C expression in the selected frame, on the status line; errors say why.
#[test]
fn p_prints_a_c_expression() {
    let mut h = Harness::open(flaky_trace());
    h.key(KeyCode::Char('p'));
    h.keys("basket[0]");
    h.key(KeyCode::Enter);
    let message = h.app.message.clone().unwrap_or_default();
    assert!(message.starts_with("basket[0] = {item = "), "{message}");
    assert!(message.contains("quantity = "), "{message}");
    assert!(h.screen().contains("basket[0] = {item"), "{}", h.screen());
    h.key(KeyCode::Char('p'));
    h.keys("/x basket");
    h.key(KeyCode::Enter);
    assert_eq!(h.app.message.as_deref(), Some("basket = 0x000115c0"));
    h.key(KeyCode::Char('p'));
    h.keys("nosuch");
    h.key(KeyCode::Enter);
    assert_eq!(
        h.app.message.as_deref(),
        Some("no symbol \"nosuch\" in current context")
    );
}

/// With DWARF, `S` goes back a source line and `I` one instruction.
#[test]
fn s_moves_by_source_line_and_i_by_instruction() {
    let mut h = Harness::open(flaky_trace());
    let at = h.position();
    let line = h.view().source_location.clone();
    assert!(
        line.as_deref().is_some_and(|l| l.starts_with("flaky.c:")),
        "{line:?}"
    );
    h.key(KeyCode::Char('I'));
    assert_eq!(h.position(), at - 1);
    h.key(KeyCode::Char('i'));
    assert_eq!(h.position(), at);
    h.key(KeyCode::Char('S'));
    let back = h.view().source_location.clone();
    assert_ne!(back, line, "a different line");
    assert!(h.position() < at - 1, "more than one instruction back");
    let before = h.position();
    h.key(KeyCode::Char('s'));
    assert!(h.position() > before, "forward");
    assert_ne!(h.view().source_location, back, "to another line");
}

/// `B` sets a breakpoint on a source line (or a function) by name.
#[test]
fn b_sets_a_breakpoint_on_a_source_line() {
    let mut h = Harness::open(flaky_trace());
    h.key(KeyCode::Char('B'));
    h.keys("flaky.c:50");
    h.key(KeyCode::Enter);
    assert!(!h.view().breakpoints.is_empty(), "{:?}", h.app.message);
    h.key(KeyCode::Char('C'));
    let stop = h.view().stop.clone().unwrap_or_default();
    assert!(stop.starts_with("breakpoint"), "{stop}");
    assert_eq!(h.view().source_location.as_deref(), Some("flaky.c:50"));
    h.key(KeyCode::Char('B'));
    h.keys("nosuch.c:3");
    h.key(KeyCode::Enter);
    assert_eq!(
        h.app.message.as_deref(),
        Some("no source file `nosuch.c` in the module's debug information")
    );
}

/// Ctrl-C interrupts a movement in progress, as in gdb (the event loop then raises the cancel
/// flag, as for Esc); when nothing runs, it quits.
#[test]
fn ctrl_c_cancels_a_running_movement_and_quits_otherwise() {
    use deja_tui::app::Action;
    let mut h = Harness::new();
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(h.app.handle_key(ctrl_c), Some(Action::Quit));
    h.app.busy = Some(("continue".into(), 10, 100));
    assert_eq!(h.app.handle_key(ctrl_c), Some(Action::Escape));
    assert_eq!(h.app.update(Action::Escape), None);
    h.app.busy = None;
}

/// `W` on a C variable continues backward to the write that gave it its value (the one-key
/// form of `w` then `C`); `w` takes a C expression as well as ADDR LEN; `x` shows values in hex.
#[test]
fn w_on_a_variable_goes_back_to_its_last_write_and_x_toggles_hex() {
    let mut h = Harness::open(flaky_trace());
    let at = h.position();
    let var = |h: &Harness| {
        h.view()
            .variables
            .clone()
            .unwrap_or_default()
            .into_iter()
            .find(|r| r.name == "last_quantity")
            .map(|r| (r.ty, r.value))
    };
    assert_eq!(var(&h), Some(("volatile int".into(), "0".into())));
    h.key(KeyCode::Char('W'));
    h.keys("last_quantity");
    h.key(KeyCode::Enter);
    let stop = h.view().stop.clone().unwrap_or_default();
    assert!(
        stop.starts_with("watchpoint 1"),
        "{stop} {:?}",
        h.app.message
    );
    assert!(h.position() < at, "went back");
    assert_eq!(
        h.position(),
        14690,
        "where the store of last_quantity completed"
    );
    assert_eq!(h.view().watchpoints.len(), 1);
    // `w EXPR` adds a watchpoint on the expression's bytes, `w ADDR LEN` still works.
    h.key(KeyCode::Char('w'));
    h.keys("basket[0]");
    h.key(KeyCode::Enter);
    assert_eq!(h.view().watchpoints.len(), 2, "{:?}", h.app.message);
    assert_eq!(h.view().watchpoints[1].2, 8, "a struct line is 8 bytes");
    h.key(KeyCode::Char('w'));
    h.keys("nosuch");
    h.key(KeyCode::Enter);
    assert_eq!(
        h.app.message.as_deref(),
        Some("no symbol \"nosuch\" in current context")
    );
    h.key(KeyCode::Char('x'));
    assert_eq!(h.app.message.as_deref(), Some("values in hex"));
    let (_, hex) = var(&h).expect("in scope");
    assert!(hex.starts_with("0x"), "{hex}");
    h.key(KeyCode::Char('x'));
    assert_eq!(var(&h).map(|(_, v)| v).as_deref(), Some("0"));
}

/// The locals pane is a tree: Tab gives it the focus, Up/Down select a variable, Enter opens a
/// pointer to its pointee, a struct to its members, an array to its elements, and closes it.
#[test]
fn structs_arrays_and_pointers_open_in_the_locals_pane() {
    let mut h = Harness::open(flaky_trace());
    for _ in 0..2 {
        h.key(KeyCode::Tab);
    }
    assert_eq!(h.app.focus, deja_tui::app::Focus::Locals);
    let rows = |h: &Harness| h.view().variables.clone().unwrap_or_default();
    let basket = rows(&h)
        .iter()
        .position(|r| r.name == "basket")
        .expect("basket");
    assert!(rows(&h)[basket].expandable);
    for _ in 0..basket {
        h.key(KeyCode::Down);
    }
    h.key(KeyCode::Enter);
    let r = rows(&h);
    assert!(r[basket].expanded, "{r:?}");
    // The pointee, a struct line, then its members once it is open too.
    assert_eq!((r[basket + 1].depth, r[basket + 1].name.as_str()), (1, "*"));
    assert!(r[basket + 1].value.starts_with("{item = "), "{r:?}");
    h.key(KeyCode::Down);
    h.key(KeyCode::Enter);
    let r = rows(&h);
    let members: Vec<(&str, usize)> = r[basket + 2..basket + 4]
        .iter()
        .map(|m| (m.name.as_str(), m.depth))
        .collect();
    assert_eq!(members, [("item", 2), ("quantity", 2)], "{r:?}");
    assert!(h.screen().contains("▾ basket = 0x"), "{}", h.screen());
    // An array of structs opens to its elements.
    let items = r
        .iter()
        .position(|r| r.name == "items")
        .expect("main's items, inlined caller");
    for _ in h.app.locals_cursor..items {
        h.key(KeyCode::Down);
    }
    h.key(KeyCode::Enter);
    let r = rows(&h);
    assert_eq!(r[items + 1].name, "[0]", "{r:?}");
    assert!(r[items + 1].value.contains("apples"), "{r:?}");
    // Enter on the variable again closes it; the others stay open.
    h.key(KeyCode::Enter);
    let r = rows(&h);
    assert!(!r[items].expanded && r[items + 1].depth == 0, "{r:?}");
    assert!(r[basket].expanded);
}

/// A throw right after a watched store, and one where a breakpoint is set, are listed as
/// throws besides the watchpoint's and the breakpoint's hits at the same positions.
#[test]
fn throws_at_the_position_of_another_hit_are_listed_too() {
    const GUEST: &str = r#"(module
      (memory (export "memory") 1)
      (tag $e)
      (func (export "_start")
        (block $h
          (try_table (catch $e $h)
            (i32.store (i32.const 0) (i32.const 1))
            (throw $e)))
        (block $h
          (try_table (catch $e $h)
            (throw $e)))))"#;
    let module = deja_runtime::Module::new(GUEST.as_bytes()).unwrap();
    let mut h = Harness::open(record(&module));
    let throws = |h: &Harness| -> Vec<u64> {
        h.view()
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Throw(_)))
            .map(|e| e.position)
            .collect()
    };
    let all = throws(&h);
    assert_eq!(all.len(), 2, "{:?}", h.view().events);
    h.keys("w0 4");
    h.key(KeyCode::Enter);
    let watched: Vec<u64> = h
        .view()
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Watchpoint(_)))
        .map(|e| e.position)
        .collect();
    assert_eq!(watched, vec![all[0]], "{:?}", h.view().events);
    assert_eq!(throws(&h), all, "{:?}", h.view().events);
    // A breakpoint on the second throw.
    h.keys(&format!("g{}", all[1]));
    h.key(KeyCode::Enter);
    h.key(KeyCode::Char('b'));
    assert_eq!(throws(&h), all, "{:?}", h.view().events);
    assert!(h.view().hits_complete);
}

/// `v` cycles how `v128` values are shown: one hex number, then each lane shape in turn, in the
/// locals and the operand stack alike.
#[test]
fn v_cycles_the_lane_views_of_v128_values() {
    let module = deja_runtime::Module::new(
        br#"(module (func (export "_start") (local $x v128)
              (local.set $x (v128.const i32x4 1 -2 3 4))
              (local.get $x)
              (unreachable)))"#,
    )
    .unwrap();
    let mut h = Harness::open(record(&module));
    let local = |h: &Harness| h.view().locals[0].clone();
    let operand = |h: &Harness| h.view().stack[0].clone();
    let raw = local(&h);
    assert_eq!(raw.0, "v128");
    assert_eq!(operand(&h), raw);
    let mut seen = Vec::new();
    for _ in 0..6 {
        h.key(KeyCode::Char('v'));
        assert_eq!(operand(&h), local(&h));
        seen.push(local(&h));
    }
    assert_eq!(
        seen[0],
        (
            "v128 i8x16".into(),
            "1 0 0 0 -2 -1 -1 -1 3 0 0 0 4 0 0 0".into()
        )
    );
    assert_eq!(seen[2], ("v128 i32x4".into(), "1 -2 3 4".into()));
    assert_eq!(
        seen[3],
        ("v128 i64x2".into(), "-8589934591 17179869187".into())
    );
    assert_eq!(
        h.app.message.as_deref(),
        Some("v128 values as f64x2"),
        "the status line names the view"
    );
    h.key(KeyCode::Char('v'));
    assert_eq!(local(&h), raw, "and back to one number");
}
