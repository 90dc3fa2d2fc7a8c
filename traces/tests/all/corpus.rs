//! The fuzz seed corpus: committed traces under `fuzz/seeds/reader/`, regenerated with `BLESS=1`,
//! and run through the same reader exercise as the fuzz target on every `cargo test`.

use std::path::Path;

use deja_traces::{
    DebugEvent, EventKind, Interruption, Position, Record, WriterOptions, exercise_reader,
};

use crate::support;

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mixed = support::records(60, 77);
    let finished = support::write(&mixed, &support::end_after(&mixed), support::small_chunks());
    let unfinished = {
        let reader = support::open(&finished).unwrap();
        let last = reader.chunks().last().unwrap();
        finished[..(last.offset + 40 + u64::from(last.stored_len)) as usize].to_vec()
    };
    let events: Vec<Record> = (0..3)
        .map(|i| {
            Record::Event(DebugEvent {
                position: Position(i * 10),
                kind: EventKind::Interrupted(Interruption::Other("budget".into())),
                backtrace: vec![],
            })
        })
        .collect();
    vec![
        ("finished.deja", finished.clone()),
        ("unfinished.deja", unfinished),
        (
            "cut-mid-chunk.deja",
            finished[..finished.len() * 2 / 3].to_vec(),
        ),
        (
            "empty-run.deja",
            support::write(&[], &support::end_after(&[]), WriterOptions::default()),
        ),
        (
            "events.deja",
            support::write(
                &events,
                &support::end_after(&events),
                WriterOptions::default(),
            ),
        ),
    ]
}

#[test]
fn seed_corpus_is_current_and_reads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/reader");
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in seeds() {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    for (name, bytes) in seeds() {
        let committed = std::fs::read(dir.join(name))
            .unwrap_or_else(|e| panic!("seed {name} missing ({e}); run with BLESS=1"));
        let count = exercise_reader(&committed).unwrap_or_else(|e| panic!("seed {name}: {e}"));
        assert_eq!(
            count,
            exercise_reader(&bytes).unwrap(),
            "seed {name} is stale; run with BLESS=1"
        );
    }
}
