;; A tight integer loop: xorshift-style mixing in locals.
(module
  (func (export "run") (param $n i32) (result i64)
    (local $x i64) (local $acc i64)
    (local.set $x (i64.const 88172645463325252))
    (loop $l
      (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 13))))
      (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 7))))
      (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 17))))
      (local.set $acc (i64.add (local.get $acc) (local.get $x)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (local.get $acc)))
