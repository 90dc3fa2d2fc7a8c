;; WebAssembly 3.0 in one WASI program: a tail-recursive sum (`return_call`, so its frame
;; never grows), called through a typed function reference (`call_ref`), keeping every partial
;; sum in a second, 64-bit memory. It prints 5050, then fails on purpose: a `call_ref` through
;; a null reference.
;;   deja record examples/wat/wasm3.wat && deja debug wasm3.deja
;; In the debugger, `b sum` and `C` (reverse continue) walk the tail calls backward, n = 0, 1,
;; 2, ..., all at the same depth.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (memory $sums i64 1)
  (type $step (func (param i64 i64) (result i64)))
  (global $next (mut (ref null $step)) (ref.null $step))
  (elem declare func $sum)
  (func $sum (type $step) (param $n i64) (param $acc i64) (result i64)
    (i64.store $sums (i64.shl (local.get $n) (i64.const 3)) (local.get $acc))
    (if (result i64) (i64.eqz (local.get $n))
      (then (local.get $acc))
      (else (return_call $sum (i64.sub (local.get $n) (i64.const 1))
                              (i64.add (local.get $acc) (local.get $n))))))
  (func $print (param $v i64)
    (local $p i32)
    (local.set $p (i32.const 63))
    (i32.store8 (i32.const 63) (i32.const 10))
    (loop $digits
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $v) (i64.const 10)))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $digits (i64.ne (local.get $v) (i64.const 0))))
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (i32.sub (i32.const 64) (local.get $p)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (global.set $next (ref.func $sum))
    (call $print (call_ref $step (i64.const 100) (i64.const 0) (global.get $next)))
    (global.set $next (ref.null $step))
    (drop (call_ref $step (i64.const 1) (i64.const 0) (global.get $next)))))
