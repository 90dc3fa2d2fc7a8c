;; A function with 29 results: more than x86-64 or aarch64 return in registers.
(module
  (func $many (param i64)
    (result i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
            f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64)
    (local.get 0) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 5) (i64.const 6)
    (i64.const 7) (i64.const 8) (i64.const 9) (i64.const 10) (i64.const 11) (i64.const 12)
    (f64.const 1) (f64.const 2) (f64.const 3) (f64.const 4) (f64.const 5) (f64.const 6)
    (f64.const 7) (f64.const 8) (f64.const 9) (f64.const 10) (f64.const 11) (f64.const 12)
    (f64.const 13) (f64.const 14) (f64.const 15) (f64.const 16) (f64.const 17))
  (func (export "f") (result i64 f64)
    (local $last f64)
    (call $many (i64.const 1))
    (local.set $last)
    (drop) (drop) (drop) (drop) (drop) (drop) (drop) (drop) (drop) (drop) (drop) (drop)
    (drop) (drop) (drop) (drop)
    (drop) (drop) (drop) (drop) (drop) (drop) (drop) (drop) (drop) (drop)
    (i64.add)
    (local.get $last)))
