//! Version rules: an older minor of the reader's major reads; a newer minor or another major is
//! refused with a message naming both versions; the committed golden file of every released
//! version keeps reading.

use std::io::Cursor;

use deja_traces::{
    Error, FORMAT_VERSION, FormatVersion, ReaderOptions, TraceReader, WriterOptions,
};

use crate::support;

fn stamped(version: FormatVersion) -> Vec<u8> {
    let records = support::records(50, 1);
    let options = WriterOptions {
        format_version: version,
        ..support::small_chunks()
    };
    support::write(&records, &support::end_after(&records), options)
}

fn open_as(bytes: &[u8], reader: FormatVersion) -> deja_traces::Result<TraceReader<Cursor<&[u8]>>> {
    TraceReader::with_options(
        Cursor::new(bytes),
        ReaderOptions {
            reader_version: reader,
        },
    )
}

fn refusal(bytes: &[u8], reader: FormatVersion) -> String {
    match open_as(bytes, reader) {
        Err(error @ Error::UnsupportedVersion { .. }) => error.to_string(),
        other => panic!("expected a version refusal, got {other:?}"),
    }
}

#[test]
fn current_version_is_stamped_and_read() {
    let bytes = stamped(FORMAT_VERSION);
    let reader = support::open(&bytes).unwrap();
    assert_eq!(reader.format_version(), FORMAT_VERSION);
    let [a, b] = FORMAT_VERSION.major.to_le_bytes();
    let [c, d] = FORMAT_VERSION.minor.to_le_bytes();
    assert_eq!(
        &bytes[8..12],
        &[a, b, c, d],
        "major and minor, little-endian"
    );
    assert_eq!(FORMAT_VERSION, FormatVersion { major: 1, minor: 3 });
}

#[test]
fn older_minor_of_same_major_is_read() {
    // A reader of 1.4 (a future deja) opens a file of 1.0 with all its records.
    let bytes = stamped(FormatVersion { major: 1, minor: 0 });
    let reader = open_as(&bytes, FormatVersion { major: 1, minor: 4 }).unwrap();
    assert_eq!(
        reader.format_version(),
        FormatVersion { major: 1, minor: 0 }
    );
    assert_eq!(reader.records().count(), 51);
    assert!(reader.records().all(|r| r.is_ok()));
}

#[test]
fn newer_minor_is_refused_naming_both_versions() {
    let newer = FormatVersion {
        major: FORMAT_VERSION.major,
        minor: FORMAT_VERSION.minor + 1,
    };
    let message = refusal(&stamped(newer), FORMAT_VERSION);
    assert!(message.contains(&newer.to_string()), "{message}");
    assert!(message.contains(&FORMAT_VERSION.to_string()), "{message}");
    assert!(message.contains("newer"), "{message}");
}

#[test]
fn newer_major_is_refused_naming_both_versions() {
    let newer = FormatVersion {
        major: FORMAT_VERSION.major + 1,
        minor: 0,
    };
    let message = refusal(&stamped(newer), FORMAT_VERSION);
    assert!(
        message.contains("2.0") && message.contains(&FORMAT_VERSION.to_string()),
        "{message}"
    );
    assert!(message.contains("newer"), "{message}");
}

#[test]
fn older_major_is_refused_naming_both_versions() {
    let old = FormatVersion { major: 0, minor: 9 };
    let message = refusal(&stamped(old), FORMAT_VERSION);
    assert!(
        message.contains("0.9") && message.contains(&FORMAT_VERSION.to_string()),
        "{message}"
    );
    assert!(message.contains("older major"), "{message}");
}

#[test]
fn version_rule_table() {
    let v = |major, minor| FormatVersion { major, minor };
    let reader = v(1, 3);
    for (file, readable) in [
        (v(1, 0), true),
        (v(1, 1), true),
        (v(1, 3), true),
        (v(1, 4), false),
        (v(2, 0), false),
        (v(0, 2), false),
    ] {
        assert_eq!(
            reader.can_read(file),
            readable,
            "reader {reader} file {file}"
        );
    }
}

/// Golden traces of every released format version, committed under `tests/data/`. They guard
/// the on-disk layout, including rkyv's (a workspace crate turning on an rkyv feature such as
/// `big_endian` would silently change it). Regenerate the current version's with `BLESS=1`.
#[test]
fn golden_traces_of_released_versions_still_read() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let records = support::records(200, 42);
    let end = support::end_after(&records);
    let current = dir.join(format!(
        "v{}.{}.deja",
        FORMAT_VERSION.major, FORMAT_VERSION.minor
    ));
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            &current,
            support::write(&records, &end, support::small_chunks()),
        )
        .unwrap();
    }
    // Every released version's golden file holds this same content.
    let golden = ["v1.0.deja", "v1.1.deja", "v1.2.deja", "v1.3.deja"];
    for name in golden {
        let bytes = std::fs::read(dir.join(name))
            .unwrap_or_else(|e| panic!("golden trace {name} missing ({e}); run with BLESS=1"));
        let reader = support::open(&bytes).unwrap();
        assert!(
            reader.chunks().len() > 3,
            "{name} should span several chunks"
        );
        assert_eq!(reader.end_of_run(), Some(&end), "{name}");
        assert_eq!(
            support::read_all(&bytes).unwrap(),
            support::with_end(&records, &end),
            "{name}"
        );
        assert_eq!(reader.module_bytes().unwrap(), support::MODULE, "{name}");
    }
}

/// 1.1 added the header's `chaos`: a 1.0 file reads with it `None`, a 1.1 file keeps it.
#[test]
fn chaos_header_field_is_absent_in_1_0_and_kept_in_1_1() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let old = std::fs::read(dir.join("v1.0.deja")).unwrap();
    let reader = support::open(&old).unwrap();
    assert_eq!(
        reader.format_version(),
        FormatVersion { major: 1, minor: 0 }
    );
    assert_eq!(reader.header().chaos, None);

    let new = std::fs::read(dir.join("v1.1.deja")).unwrap();
    let reader = support::open(&new).unwrap();
    assert_eq!(
        reader.format_version(),
        FormatVersion { major: 1, minor: 1 }
    );
    assert_eq!(reader.header().chaos, support::header().chaos);
    assert!(reader.header().chaos.is_some());
}
