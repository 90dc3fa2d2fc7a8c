//! Guest-given sizes never make the host allocate more than guest memory holds: a guest that
//! passes huge or overlapping buffers gets `EFAULT` or a short transfer, never an aborted host
//! (it used to abort with "memory allocation of 4398046494720 bytes failed").

use deja_runtime::wasi::{self, Errno, OutputSink, StdinSource, WasiCtx, WasiCtxBuilder};
use deja_runtime::{Config, Linker, Module, Store, Val};
use std::sync::Arc;

/// A guest with one 64 KiB page whose `read(iovs, count)`, `pread`, `write` and `random`
/// exports call the WASI functions with the iovec array at 0x100 that `setup(n, addr, len)`
/// fills with `n` entries of (`addr`, `len`).
const GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pread" (func $pread (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "setup") (param $n i32) (param $addr i32) (param $len i32)
    (local $i i32)
    (loop $l
      (i32.store (i32.add (i32.const 0x100) (i32.mul (local.get $i) (i32.const 8))) (local.get $addr))
      (i32.store (i32.add (i32.const 0x104) (i32.mul (local.get $i) (i32.const 8))) (local.get $len))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func (export "read") (param $fd i32) (param $n i32) (result i32)
    (call $read (local.get $fd) (i32.const 0x100) (local.get $n) (i32.const 0x10)))
  (func (export "pread") (param $fd i32) (param $n i32) (result i32)
    (call $pread (local.get $fd) (i32.const 0x100) (local.get $n) (i64.const 0) (i32.const 0x10)))
  (func (export "write") (param $fd i32) (param $n i32) (result i32)
    (call $write (local.get $fd) (i32.const 0x100) (local.get $n) (i32.const 0x10)))
  (func (export "random") (param $at i32) (param $len i32) (result i32)
    (call $random (local.get $at) (local.get $len)))
  (func (export "moved") (result i32) (i32.load (i32.const 0x10))))"#;

struct Guest {
    store: Store<WasiCtx>,
    instance: deja_runtime::Instance,
}

impl Guest {
    fn new(stdin: &[u8]) -> (Guest, Arc<std::sync::Mutex<Vec<u8>>>) {
        let (stdout, out) = OutputSink::buffer();
        let ctx = WasiCtxBuilder::new()
            .stdin(StdinSource::Bytes(stdin.into()))
            .stdout(stdout)
            .build()
            .unwrap();
        let mut store = Store::new(Config::default(), ctx);
        let mut linker = Linker::new();
        wasi::add_to_linker(&mut linker, |c: &mut WasiCtx| c);
        let module = Module::new(GUEST.as_bytes()).unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        (Guest { store, instance }, out)
    }

    fn call(&mut self, name: &str, args: &[i32]) -> i32 {
        let f = self.store.get_func(self.instance, name).unwrap();
        let args: Vec<Val> = args.iter().map(|a| Val::I32(*a)).collect();
        match self.store.call(f, &args).unwrap()[..] {
            [Val::I32(r)] => r,
            [] => 0,
            ref other => panic!("{other:?}"),
        }
    }

    fn errno(&mut self, name: &str, args: &[i32]) -> Errno {
        Errno(self.call(name, args) as u16)
    }
}

#[test]
fn iovecs_beyond_guest_memory_are_efault_before_anything_is_allocated() {
    let (mut g, _) = Guest::new(b"hello");
    // 1024 iovecs of 4 GiB - 1 each at 0x1000: 4 TiB in all.
    g.call("setup", &[1024, 0x1000, -1]);
    assert_eq!(g.errno("read", &[0, 1024]), Errno::FAULT);
    assert_eq!(g.errno("write", &[1, 1024]), Errno::FAULT);
    // One iovec one byte past the end of memory.
    g.call("setup", &[1, 0xffff, 2]);
    assert_eq!(g.errno("read", &[0, 1]), Errno::FAULT);
    // random_get of 4 GiB - 1 bytes.
    assert_eq!(g.errno("random", &[0x1000, -1]), Errno::FAULT);
    assert_eq!(g.errno("random", &[0xfff0, 0x11]), Errno::FAULT);
    assert_eq!(g.errno("random", &[0xfff0, 0x10]), Errno::SUCCESS);
}

#[test]
fn overlapping_iovecs_move_at_most_guest_memory() {
    let stdin = vec![b'x'; 200_000];
    let (mut g, out) = Guest::new(&stdin);
    // 1024 iovecs, each over the upper half of memory: 32 MiB asked, 64 KiB the most there is.
    g.call("setup", &[1024, 0x8000, 0x8000]);
    assert_eq!(g.errno("read", &[0, 1024]), Errno::SUCCESS);
    let moved = g.call("moved", &[]);
    assert!(moved > 0 && moved <= 0x10000, "read {moved} bytes");
    assert_eq!(g.errno("write", &[1, 1024]), Errno::SUCCESS);
    let written = g.call("moved", &[]);
    assert!(written > 0 && written <= 0x10000, "wrote {written} bytes");
    assert_eq!(out.lock().unwrap().len(), written as usize);
}

/// Empty iovecs are skipped, not taken for the end: wasi-libc's stdio writes `[empty buffer,
/// data]`, and a write that stopped at the empty one moved nothing, so the guest retried
/// forever (a regression the sightglass `shootout-ctype` run caught).
#[test]
fn an_empty_iovec_before_data_is_skipped() {
    let (mut g, out) = Guest::new(b"abc");
    // Two iovecs: (0x2000, 0), then (0x3000, 5) — set up by hand.
    g.call("setup", &[2, 0x3000, 5]);
    let mem = g.store.instance_memory(g.instance).unwrap();
    g.store
        .memory_write(mem, 0x104, &0u32.to_le_bytes())
        .unwrap();
    g.store.memory_write(mem, 0x3000, b"hello").unwrap();
    assert_eq!(g.errno("write", &[1, 2]), Errno::SUCCESS);
    assert_eq!(g.call("moved", &[]), 5);
    assert_eq!(&out.lock().unwrap()[..], b"hello");
    assert_eq!(g.errno("read", &[0, 2]), Errno::SUCCESS);
    assert_eq!(g.call("moved", &[]), 3);
}
