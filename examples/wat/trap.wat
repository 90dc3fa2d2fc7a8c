;; Divides by its argument: `deja run --invoke div examples/wat/trap.wat 0` traps.
(module
  (func $inner (param $x i32) (result i32)
    (i32.div_s (i32.const 100) (local.get $x)))
  (func $div (export "div") (param $x i32) (result i32)
    (call $inner (local.get $x))))
