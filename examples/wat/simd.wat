;; SIMD in one WASI program: 1 + 2 + ... + 100 four lanes at a time (`i32x4.add` on a v128
;; accumulator), the lanes summed at the end. It prints 5050.
;;   deja record examples/wat/simd.wat && deja debug simd.deja
;; In the debugger, `b lanesum` and `locals` show the accumulator's lanes; `C` (reverse
;; continue) with a watch on nothing else walks the loop backward.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $lanesum (param $v v128) (result i32)
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $v)) (i32x4.extract_lane 1 (local.get $v)))
      (i32.add (i32x4.extract_lane 2 (local.get $v)) (i32x4.extract_lane 3 (local.get $v)))))
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
    (local $acc v128) (local $x v128) (local $i i32)
    (local.set $x (v128.const i32x4 1 2 3 4))
    (loop $l
      (local.set $acc (i32x4.add (local.get $acc) (local.get $x)))
      (local.set $x (i32x4.add (local.get $x) (v128.const i32x4 4 4 4 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 25))))
    (call $print (i64.extend_i32_u (call $lanesum (local.get $acc))))))
