;; A deterministic failure for the debugger: average() divides a total by a count that a
;; loop brought down to zero. Record it, then find where the zero came from:
;;   deja record examples/wat/divide.wat && deja debug divide.deja
(module
  (memory (export "memory") 1)
  (data (i32.const 16) "\05\00\00\00\03\00\00\00\08\00\00\00\00\00\00\00")
  (func $sum (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc)
        (i32.load offset=16 (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $acc))
  (func $count (result i32)
    ;; The bug: counts entries up to the first zero, but stores the count after
    ;; decrementing it to "skip the header", leaving 0 when only one entry is valid.
    (local $c i32)
    (local.set $c (i32.const 1))
    (i32.store (i32.const 0) (i32.sub (local.get $c) (i32.const 1)))
    (i32.load (i32.const 0)))
  (func $average (param $total i32) (param $count i32) (result i32)
    (i32.div_u (local.get $total) (local.get $count)))
  (func (export "_start")
    (drop (call $average (call $sum (i32.const 3)) (call $count)))))
