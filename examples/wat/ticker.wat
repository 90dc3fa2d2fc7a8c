;; Runs forever, reading the clock every 100,000 iterations: a guest to interrupt.
;; Try: deja run --max-steps 10000000 examples/wat/ticker.wat
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (local $i i32)
    (loop $forever
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 100000)))
        (then (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 0)))))
      (br $forever))))
