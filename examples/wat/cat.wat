;; `cat` for WASI: prints the file named by argv[1], looked up in the first preopened
;; directory (fd 3). Exits with 2 without an argument and with 100 + the WASI errno when the
;; file cannot be opened.  Try: deja run --dir examples::. examples/wat/cat.wat wat/cat.wat
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)
  ;; 0: argc, 4: argv buffer size, 16..: argv pointers, 1024..: argv strings,
  ;; 64: iovec, 72: nread/nwritten, 76: opened fd, 8192..: read buffer
  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))
  (func (export "_start")
    (local $path i32) (local $errno i32)
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (drop (call $args_get (i32.const 16) (i32.const 1024)))
    (if (i32.lt_u (i32.load (i32.const 0)) (i32.const 2))
      (then (call $proc_exit (i32.const 2))))
    (local.set $path (i32.load (i32.const 20)))
    (local.set $errno
      (call $path_open (i32.const 3) (i32.const 1) (local.get $path) (call $strlen (local.get $path))
        (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 76)))
    (if (local.get $errno)
      (then (call $proc_exit (i32.add (i32.const 100) (local.get $errno)))))
    (loop $copy
      (i32.store (i32.const 64) (i32.const 8192))
      (i32.store (i32.const 68) (i32.const 4096))
      (drop (call $fd_read (i32.load (i32.const 76)) (i32.const 64) (i32.const 1) (i32.const 72)))
      (if (i32.load (i32.const 72))
        (then
          (i32.store (i32.const 68) (i32.load (i32.const 72)))
          (drop (call $fd_write (i32.const 1) (i32.const 64) (i32.const 1) (i32.const 72)))
          (br $copy))))))
