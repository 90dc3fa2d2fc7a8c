;; One throw at the start, then 300 million steps of arithmetic: how much of the run the JIT
;; gives up to the interpreter after a throw.
(module
  (memory (export "memory") 1)
  (tag $e (param i32))
  (func $work (param $n i32) (result i32)
    (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (local.get $acc))
  (func (export "_start")
    (local $r i32)
    (local.set $r (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (throw $e (i32.const 1)))))
    (i32.store (i32.const 0) (i32.add (local.get $r) (call $work (i32.const 50000000))))))
