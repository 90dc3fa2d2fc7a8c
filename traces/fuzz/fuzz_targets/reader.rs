//! Fuzzes the trace reader: any bytes must give an error or valid records, never a panic, a hang
//! or an unbounded allocation. The invariants live in `deja_traces::exercise_reader`, which the
//! test suite also runs on the seed corpus and on thousands of mutants.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = deja_traces::exercise_reader(data);
});
