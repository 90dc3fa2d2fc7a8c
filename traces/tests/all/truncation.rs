//! Crash tolerance: a trace whose writer was killed opens, recovers every complete chunk, and
//! says it is truncated and how many records it recovered.

use std::process::Command;
use std::time::{Duration, Instant};

use deja_traces::{Error, Position, Record, TraceReader, TraceWriter, WriterOptions};

use crate::support;

/// Cuts a finished trace at every byte offset: each prefix either fails to open with a
/// truncation error (if the cut is in the prelude, header or module) or opens as truncated with
/// exactly the records of the chunks that end before the cut.
#[test]
fn every_prefix_opens_with_the_complete_chunks_or_fails_cleanly() {
    let records = support::records(150, 7);
    let end = support::end_after(&records);
    let bytes = support::write(&records, &end, support::small_chunks());
    let all = support::with_end(&records, &end);
    let full = support::open(&bytes).unwrap();
    let chunks = full.chunks().to_vec();
    assert!(chunks.len() > 5, "want many chunks, got {}", chunks.len());
    let data_start = chunks[0].offset;
    let footer_start = {
        let last = chunks.last().unwrap();
        last.offset + 40 + u64::from(last.stored_len)
    };

    for cut in 0..bytes.len() {
        let prefix = &bytes[..cut];
        let opened = support::open(prefix);
        if (cut as u64) < data_start {
            match opened {
                Err(Error::Empty) if cut == 0 => {}
                Err(Error::Truncated { .. }) => {}
                other => panic!("cut at {cut} (before the records) gave {other:?}"),
            }
            continue;
        }
        let reader = opened.unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        let complete: u64 = chunks
            .iter()
            .filter(|c| c.offset + 40 + u64::from(c.stored_len) <= cut as u64)
            .map(|c| u64::from(c.record_count))
            .sum();
        let truncation = reader.truncation().expect("a cut file is truncated");
        assert_eq!(truncation.records_recovered, complete, "cut at {cut}");
        assert_eq!(reader.record_count(), complete, "cut at {cut}");
        assert!(truncation.valid_len <= cut as u64 && truncation.valid_len >= data_start);
        assert_eq!(reader.end_of_run(), None);
        let read: Vec<Record> = reader.records().collect::<Result<_, _>>().unwrap();
        assert_eq!(read[..], all[..complete as usize], "cut at {cut}");
        if cut as u64 >= footer_start {
            assert_eq!(
                complete as usize,
                all.len(),
                "cut in the footer keeps every record"
            );
        }
    }
}

#[test]
fn dropped_writer_leaves_a_truncated_trace_with_every_record() {
    let path = temp_path("dropped");
    let records = support::records(300, 3);
    {
        let mut writer = TraceWriter::create(
            &path,
            support::header(),
            support::MODULE,
            support::small_chunks(),
        )
        .unwrap();
        for record in &records {
            writer.push(record.clone()).unwrap();
        }
    }
    let reader = TraceReader::open(&path).unwrap();
    assert!(reader.is_truncated());
    assert_eq!(reader.truncation().unwrap().records_recovered, 300);
    let read: Vec<Record> = reader.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(read, records);
    std::fs::remove_file(path).unwrap();
}

const CHILD_ENV: &str = "DEJA_TRACES_KILL_TEST_PATH";
const CHILD_RECORDS: usize = 100;

/// The real thing: a recorder process pushes records, then hangs as a guest stuck in a loop
/// would, and is killed with SIGKILL. Every record pushed more than the flush interval before
/// the kill must be in the file, although the writer was never dropped or finished.
#[test]
fn killed_recorder_process_leaves_a_readable_truncated_trace() {
    let path = temp_path("killed");
    let _ = std::fs::remove_file(&path);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "truncation::recorder_child_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the child to have pushed everything (it writes a marker file), then for the flush
    // interval (250 ms) with a margin, then kill it.
    let marker = path.with_extension("pushed");
    let start = Instant::now();
    while !marker.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "child never pushed its records"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("child exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(750));
    child.kill().unwrap(); // SIGKILL on Unix: no destructor, no flush.
    child.wait().unwrap();

    let reader = TraceReader::open(&path).unwrap();
    assert!(reader.is_truncated());
    assert_eq!(
        reader.truncation().unwrap().records_recovered,
        CHILD_RECORDS as u64
    );
    let read: Vec<Record> = reader.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(read, support::records(CHILD_RECORDS, 11));
    assert_eq!(reader.module_bytes().unwrap(), support::MODULE);
    std::fs::remove_file(&path).unwrap();
    std::fs::remove_file(&marker).unwrap();
}

/// The recorder half of the test above; runs only when that test starts it.
#[test]
#[ignore = "run by killed_recorder_process_leaves_a_readable_truncated_trace in a child process"]
fn recorder_child_process() {
    let path = std::path::PathBuf::from(
        std::env::var_os(CHILD_ENV).expect("started by the kill test, which sets the path"),
    );
    let mut writer = TraceWriter::create(
        &path,
        support::header(),
        support::MODULE,
        WriterOptions::default(),
    )
    .unwrap();
    for record in support::records(CHILD_RECORDS, 11) {
        writer.push(record).unwrap();
    }
    std::fs::write(path.with_extension("pushed"), b"").unwrap();
    // Hang like a guest in an infinite loop, holding the writer, until killed.
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let _ = &writer;
    }
}

#[test]
fn killed_during_finish_recovers_every_record() {
    // Cut inside the footer frame and inside the trailer: all chunks complete, footer not.
    let records = support::records(80, 5);
    let end = support::end_after(&records);
    let bytes = support::write(&records, &end, support::small_chunks());
    for cut in [bytes.len() - 1, bytes.len() - 20, bytes.len() - 25] {
        let reader = support::open(&bytes[..cut]).unwrap();
        assert!(reader.is_truncated(), "cut at {cut}");
        let read: Vec<Record> = reader.records().collect::<Result<_, _>>().unwrap();
        assert_eq!(read, support::with_end(&records, &end), "cut at {cut}");
        assert_eq!(read.last().unwrap().position(), Position(end.total_steps.0));
    }
}

pub fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "deja-traces-test-{}-{name}.deja",
        std::process::id()
    ))
}
