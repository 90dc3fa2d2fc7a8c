;; Prints the guest's environment, one KEY=VALUE per line.
;; Try: deja run --env GREETING=hello examples/wat/printenv.wat
(module
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  ;; 0: count, 4: buffer size, 16: iovec, 24: nwritten, 4096..: pointers, 65536..: strings
  (func (export "_start")
    (local $i i32) (local $end i32)
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (drop (call $get (i32.const 4096) (i32.const 65536)))
    ;; The strings are NUL-terminated and contiguous: turn each NUL into a newline.
    (local.set $end (i32.add (i32.const 65536) (i32.load (i32.const 4))))
    (local.set $i (i32.const 65536))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (if (i32.eqz (i32.load8_u (local.get $i)))
          (then (i32.store8 (local.get $i) (i32.const 10))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store (i32.const 16) (i32.const 65536))
    (i32.store (i32.const 20) (i32.load (i32.const 4)))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))
