//! Escape attempts from a preopened directory: each fails with the right errno and nothing
//! outside the sandbox changes.

use deja_runtime::wasi::{self, Errno, Preopen, WasiCtx, WasiCtxBuilder};
use deja_runtime::{Config, Extern, Instance, Linker, Memory, Module, Store, Val};
use std::path::{Path, PathBuf};

/// Thin exports over the WASI path functions, taking (pointer, length) strings.
const GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory" (func $mkdir (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file" (func $unlink (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_rename" (func $rename (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_link" (func $link (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink" (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get" (func $stat (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "open") (param $p i32) (param $l i32) (param $oflags i32) (param $rights i64) (result i32)
    (call $path_open (i32.const 3) (i32.const 1) (local.get $p) (local.get $l) (local.get $oflags)
      (local.get $rights) (i64.const 0) (i32.const 0) (i32.const 60000)))
  (func (export "mkdir") (param i32 i32) (result i32) (call $mkdir (i32.const 3) (local.get 0) (local.get 1)))
  (func (export "unlink") (param i32 i32) (result i32) (call $unlink (i32.const 3) (local.get 0) (local.get 1)))
  (func (export "rename") (param i32 i32 i32 i32) (result i32)
    (call $rename (i32.const 3) (local.get 0) (local.get 1) (i32.const 3) (local.get 2) (local.get 3)))
  (func (export "link") (param i32 i32 i32 i32) (result i32)
    (call $link (i32.const 3) (i32.const 0) (local.get 0) (local.get 1) (i32.const 3) (local.get 2) (local.get 3)))
  (func (export "symlink") (param i32 i32 i32 i32) (result i32)
    (call $symlink (local.get 0) (local.get 1) (i32.const 3) (local.get 2) (local.get 3)))
  (func (export "stat") (param i32 i32) (result i32)
    (call $stat (i32.const 3) (i32.const 1) (local.get 0) (local.get 1) (i32.const 60100))))"#;

const READ: i64 = 1 << 1;
const WRITE: i64 = 1 << 6;
const CREAT: i32 = 1;

struct Guest {
    store: Store<WasiCtx>,
    instance: Instance,
    memory: Memory,
}

impl Guest {
    fn new(root: &Path, read_only: bool) -> Guest {
        let ctx = WasiCtxBuilder::new()
            .preopen(Preopen {
                host: root.to_owned(),
                guest: ".".into(),
                read_only,
            })
            .build()
            .unwrap();
        let mut store = Store::new(Config::default(), ctx);
        let mut linker = Linker::new();
        wasi::add_to_linker(&mut linker, |c: &mut WasiCtx| c);
        let module = Module::new(GUEST.as_bytes()).unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let Some(Extern::Memory(memory)) = store.get_export(instance, "memory") else {
            panic!("no memory")
        };
        Guest {
            store,
            instance,
            memory,
        }
    }

    /// Calls an export with string arguments placed in memory, then extra arguments.
    fn call(&mut self, name: &str, strings: &[&str], extra: &[Val]) -> Errno {
        let mut args = Vec::new();
        let mut at = 1024u32;
        for s in strings {
            self.store
                .memory_write(self.memory, u64::from(at), s.as_bytes())
                .unwrap();
            args.push(Val::I32(at as i32));
            args.push(Val::I32(s.len() as i32));
            at += 4096;
        }
        args.extend_from_slice(extra);
        let f = self.store.get_func(self.instance, name).unwrap();
        match self.store.call(f, &args).unwrap()[..] {
            [Val::I32(e)] => Errno(e as u16),
            ref other => panic!("unexpected {other:?}"),
        }
    }

    fn open(&mut self, path: &str, oflags: i32, rights: i64) -> Errno {
        self.call("open", &[path], &[Val::I32(oflags), Val::I64(rights)])
    }
}

/// A snapshot of a directory tree: (relative path, contents or link target).
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().to_owned();
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                out.push((
                    rel,
                    std::fs::read_link(&p)
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                ));
            } else if ft.is_dir() {
                out.push((rel, b"<dir>".to_vec()));
                stack.push(p);
            } else {
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn setup(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let base = std::env::temp_dir().join(format!("deja-sandbox-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let outside = base.join("outside");
    let sandbox = base.join("sandbox");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(sandbox.join("sub")).unwrap();
    std::fs::write(outside.join("secret.txt"), b"secret").unwrap();
    std::fs::write(sandbox.join("file"), b"inside").unwrap();
    std::os::unix::fs::symlink("../outside", sandbox.join("escape")).unwrap();
    std::os::unix::fs::symlink("/etc", sandbox.join("abs")).unwrap();
    std::os::unix::fs::symlink("loop", sandbox.join("loop")).unwrap();
    std::os::unix::fs::symlink("sub/../../outside/secret.txt", sandbox.join("sneaky")).unwrap();
    (base, outside, sandbox)
}

#[test]
fn escape_attempts_fail_and_touch_nothing_outside() {
    let (base, outside, sandbox) = setup("rw");
    let before = tree(&outside);
    let mut g = Guest::new(&sandbox, false);

    // Reading inside works, so the failures below are the sandbox, not the harness.
    assert_eq!(g.open("file", 0, READ), Errno::SUCCESS);
    assert_eq!(g.open("sub/../file", 0, READ), Errno::SUCCESS);

    for path in [
        "../outside/secret.txt",
        "sub/../../outside/secret.txt",
        "/etc/passwd",
        "/",
        "..",
        "escape/secret.txt",
        "abs/passwd",
        "sneaky",
    ] {
        assert_eq!(g.open(path, 0, READ), Errno::PERM, "open {path}");
        assert_eq!(
            g.open(path, CREAT, READ | WRITE),
            Errno::PERM,
            "create {path}"
        );
    }
    assert_eq!(g.open("loop", 0, READ), Errno::LOOP);
    assert_eq!(g.call("stat", &["escape/secret.txt"], &[]), Errno::PERM);
    assert_eq!(g.call("mkdir", &["../outside/newdir"], &[]), Errno::PERM);
    assert_eq!(
        g.call("unlink", &["../outside/secret.txt"], &[]),
        Errno::PERM
    );
    assert_eq!(g.call("unlink", &["escape/secret.txt"], &[]), Errno::PERM);
    assert_eq!(
        g.call("rename", &["file", "../outside/moved"], &[]),
        Errno::PERM
    );
    assert_eq!(
        g.call("rename", &["../outside/secret.txt", "stolen"], &[]),
        Errno::PERM
    );
    assert_eq!(
        g.call("link", &["file", "../outside/hard"], &[]),
        Errno::PERM
    );
    assert_eq!(
        g.call("link", &["escape/secret.txt", "hard"], &[]),
        Errno::PERM
    );
    // A guest may create a symlink pointing anywhere, but following it stays inside.
    let made = g.call("symlink", &["../outside/secret.txt", "mine"], &[]);
    assert!(made == Errno::SUCCESS || made == Errno::PERM, "{made:?}");
    if made == Errno::SUCCESS {
        assert_eq!(g.open("mine", 0, READ), Errno::PERM);
    }

    assert_eq!(
        tree(&outside),
        before,
        "something outside the sandbox changed"
    );
    assert_eq!(std::fs::read(sandbox.join("file")).unwrap(), b"inside");
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn read_only_preopens_refuse_every_write() {
    let (base, _outside, sandbox) = setup("ro");
    let before = tree(&sandbox);
    let mut g = Guest::new(&sandbox, true);
    assert_eq!(g.open("file", 0, READ), Errno::SUCCESS);
    assert_eq!(g.open("file", 0, READ | WRITE), Errno::NOTCAPABLE);
    assert_eq!(g.open("new", CREAT, READ | WRITE), Errno::NOTCAPABLE);
    assert_eq!(g.call("mkdir", &["d"], &[]), Errno::NOTCAPABLE);
    assert_eq!(g.call("unlink", &["file"], &[]), Errno::NOTCAPABLE);
    assert_eq!(g.call("rename", &["file", "f2"], &[]), Errno::NOTCAPABLE);
    assert_eq!(g.call("symlink", &["file", "s"], &[]), Errno::NOTCAPABLE);
    assert_eq!(tree(&sandbox), before);
    std::fs::remove_dir_all(&base).unwrap();
}
