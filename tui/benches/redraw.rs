//! Latency of a step in the UI: key → worker moves the session and builds the view → the UI
//! renders it (into a `TestBackend`, which does what a terminal backend does minus the write).
//! `cargo bench -p deja-tui --bench redraw`, on the flaky C example (a real program: 100+
//! functions of disassembly, deep frames).

use deja_tui::app::App;
use deja_tui::worker::{Command, Movement, Reply, spawn};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant};

fn main() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let module =
        deja_runtime::Module::from_file(format!("{root}/examples/wat/divide.wat")).unwrap();
    let flaky =
        deja_runtime::Module::from_file(format!("{root}/examples/flaky/flaky.wasm")).unwrap();
    for (name, module) in [("divide.wat", module), ("flaky.wasm", flaky)] {
        let dir = std::env::temp_dir().join(format!("deja-redraw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            format!("{root}/examples/flaky/data/prices.txt"),
            dir.join("prices.txt"),
        )
        .unwrap();
        let (stdout, _) = deja_runtime::wasi::OutputSink::buffer();
        let ctx = deja_runtime::wasi::WasiCtxBuilder::new()
            .args(["flaky.wasm"])
            .stdout(stdout)
            .preopen(deja_runtime::wasi::Preopen {
                host: dir.clone(),
                guest: "data".into(),
                read_only: false,
            })
            .build()
            .unwrap();
        let mut store = deja_runtime::Store::new(deja_runtime::Config::default(), ctx);
        let mut linker = deja_runtime::Linker::new();
        deja_runtime::wasi::add_to_linker(&mut linker, |c: &mut deja_runtime::wasi::WasiCtx| c);
        let (_, bytes) = deja_recorder::record(
            &mut store,
            &linker,
            &module,
            Vec::new(),
            deja_recorder::Settings::new("bench"),
        )
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let reader = deja_traces::TraceReader::new(std::io::Cursor::new(bytes)).unwrap();
        let (commands, replies, _) = spawn(reader, None, Default::default(), None, Vec::new());
        let mut app = App::default();
        let wait = |app: &mut App| loop {
            let r = replies.recv().unwrap();
            let done = matches!(r, Reply::View(_) | Reply::Failed(..) | Reply::Error(_));
            app.receive(r);
            if done {
                break;
            }
        };
        wait(&mut app);
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
        let mut samples: Vec<(Duration, Duration)> = Vec::new();
        for i in 0..200 {
            let m = if i % 2 == 0 {
                Movement::ReverseStep
            } else {
                Movement::Step
            };
            let t = Instant::now();
            commands.send(Command::Move(m)).unwrap();
            app.busy = Some(("step".into(), 0, 0));
            wait(&mut app);
            let moved = t.elapsed();
            let t = Instant::now();
            terminal.draw(|f| f.render_widget(&app, f.area())).unwrap();
            samples.push((moved, t.elapsed()));
        }
        let _ = commands.send(Command::Quit);
        let mut total: Vec<Duration> = samples.iter().map(|(a, b)| *a + *b).collect();
        let mut draw: Vec<Duration> = samples.iter().map(|(_, b)| *b).collect();
        total.sort();
        draw.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} |",
            ms(total[total.len() / 2]),
            ms(total[total.len() * 99 / 100]),
            ms(draw[draw.len() / 2]),
            ms(draw[draw.len() * 99 / 100]),
        );
    }
}
