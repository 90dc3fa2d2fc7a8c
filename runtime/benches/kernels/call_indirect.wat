;; Indirect calls through a table of four small functions.
(module
  (type $op (func (param i64) (result i64)))
  (table 4 funcref)
  (elem (i32.const 0) $inc $dbl $xor $rot)
  (func $inc (type $op) (i64.add (local.get 0) (i64.const 1)))
  (func $dbl (type $op) (i64.shl (local.get 0) (i64.const 1)))
  (func $xor (type $op) (i64.xor (local.get 0) (i64.const 0x5555)))
  (func $rot (type $op) (i64.rotl (local.get 0) (i64.const 7)))
  (func (export "run") (param $n i32) (result i64)
    (local $acc i64)
    (loop $l
      (local.set $acc
        (call_indirect (type $op) (local.get $acc) (i32.and (local.get $n) (i32.const 3))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (local.get $acc)))
