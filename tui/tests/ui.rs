//! The terminal UI driven headlessly: scripted keys against ratatui's `TestBackend`, screens
//! compared with insta snapshots (`tests/snapshots/`; regenerate with `INSTA_UPDATE=always`
//! after checking the change is intended).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use deja_tui::app::App;
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
    let mut store = deja_runtime::Store::new(deja_runtime::Config::default(), ());
    let (_, bytes) = deja_recorder::record(
        &mut store,
        &deja_runtime::Linker::new(),
        &module,
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

impl Harness {
    fn new() -> Harness {
        let reader = deja_traces::TraceReader::new(std::io::Cursor::new(divide_trace())).unwrap();
        let (commands, replies, _cancel) =
            spawn(reader, None, Default::default(), None, Vec::new());
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
            let done = matches!(reply, Reply::View(_) | Reply::Error(_));
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
    for (w, height) in [(80, 24), (60, 16), (200, 60), (20, 5)] {
        let mut t = Terminal::new(TestBackend::new(w, height)).unwrap();
        t.draw(|f| f.render_widget(&h.app, f.area())).unwrap();
    }
}
