//! Snapshots: exact restore, and cost proportional to what was written.

use crate::instantiate;
use deja_runtime::{Resumable, Snapshot, Val};

/// A guest with 64 MiB of memory whose `step` writes a few KiB at a moving place.
const BIG: &str = r#"(module
  (memory (export "mem") 1024)
  (global $cursor (mut i32) (i32.const 0))
  (func (export "step") (param $bytes i32)
    (local $i i32)
    (loop $l
      (i32.store8
        (i32.add (global.get $cursor) (local.get $i))
        (i32.add (local.get $i) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $bytes))))
    (global.set $cursor
      (i32.rem_u (i32.add (global.get $cursor) (i32.const 655360)) (i32.const 67000000)))))"#;

#[test]
fn hundred_snapshots_of_64_mib_cost_what_was_written() {
    let (mut store, instance) = instantiate(BIG);
    let step = store.get_func(instance, "step").unwrap();
    let mut snapshots = Vec::new();
    for _ in 0..100 {
        store.call(step, &[Val::I32(4096)]).unwrap();
        snapshots.push(store.snapshot().unwrap());
    }
    let bytes = Snapshot::footprint(&snapshots);
    // 100 x 4 KiB written (at most two pages each) plus page tables: a few MiB, where copying
    // the memory each time would take 6.25 GiB.
    assert!(bytes < 8 << 20, "100 snapshots take {bytes} bytes");
    assert!(
        bytes > 100 * 4096,
        "the written pages are really kept ({bytes} bytes)"
    );

    // And every one of them restores exactly.
    let mem = match store.get_export(instance, "mem") {
        Some(deja_runtime::Extern::Memory(m)) => m,
        _ => panic!("no memory"),
    };
    store.restore(&snapshots[10]).unwrap();
    let at10 = store.memory_data(mem).to_vec();
    store.restore(&snapshots[99]).unwrap();
    assert_ne!(store.memory_data(mem), &at10[..]);
    store.restore(&snapshots[10]).unwrap();
    assert_eq!(store.memory_data(mem), &at10[..]);
    assert_eq!(store.position(), snapshots[10].position());
}

#[test]
fn restored_snapshot_runs_on_identically_through_growth_and_tables() {
    let wat = r#"(module
      (memory (export "mem") 1)
      (table $t 1 funcref)
      (global $g (mut i64) (i64.const 0))
      (elem declare func $f)
      (func $f)
      (func (export "run") (param $n i32) (result i64)
        (local $i i32)
        (loop $l
          (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 97)))
            (then (drop (memory.grow (i32.const 1)))
                  (drop (table.grow $t (ref.func $f) (i32.const 1)))))
          (i64.store (i32.mul (local.get $i) (i32.const 8))
                     (i64.add (global.get $g) (i64.extend_i32_u (local.get $i))))
          (global.set $g (i64.add (global.get $g) (i64.load (i32.mul (local.get $i) (i32.const 8)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
        (i64.add (global.get $g) (i64.extend_i32_u (i32.add (memory.size) (table.size $t))))))"#;
    let (mut store, instance) = instantiate(wat);
    let run = store.get_func(instance, "run").unwrap();
    let mem = match store.get_export(instance, "mem") {
        Some(deja_runtime::Extern::Memory(m)) => m,
        _ => panic!("no memory"),
    };
    let start = store.snapshot().unwrap();
    let reference = store.call(run, &[Val::I32(1000)]).unwrap();
    let end_position = store.position();
    let end_memory = store.memory_data(mem).to_vec();
    for split in [1, 17, 500, end_position / 3, end_position - 1] {
        store.restore(&start).unwrap();
        store.set_stop_position(Some(split));
        assert!(matches!(
            store.call_resumable(run, &[Val::I32(1000)]),
            Ok(Resumable::Paused(_))
        ));
        store.set_stop_position(None);
        let mid = store.snapshot().unwrap();
        assert_eq!(store.resume().unwrap().returned().unwrap(), reference);
        // Dirty the state some more, then go back to the middle and run on again.
        store.restore(&mid).unwrap();
        assert_eq!(store.position(), split);
        assert_eq!(store.resume().unwrap().returned().unwrap(), reference);
        assert_eq!(store.position(), end_position);
        assert_eq!(store.memory_data(mem), &end_memory[..]);
    }
}
