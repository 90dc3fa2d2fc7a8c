;; Exception handling (exnref) in one WASI program. `$digit` throws `$bad_digit` with the
;; offending value two frames below the `try_table` that catches it; `$safe_sum` lands in its
;; `catch` clause with the value on the stack. It prints 15 (the digits of "12345") and 72
;; (what 'x' is worth as a digit), then fails on purpose: `$rethrowing` catches everything
;; with `catch_all_ref` and throws the exception on with `throw_ref`, and nothing catches it.
;; deja exits with 121, naming the exception and showing where it was thrown.
;;   deja record examples/wat/exceptions.wat && deja debug exceptions.deja
;; In the debugger, `catch throw` then `continue` and `rcontinue` stop at every throw.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "12345x7")
  (tag $bad_digit (export "bad_digit") (param i32))
  (func $check (param $d i32)
    (if (i32.gt_u (local.get $d) (i32.const 9))
      (then (throw $bad_digit (local.get $d)))))
  (func $digit (param $i i32) (result i32)
    (local $d i32)
    (local.set $d (i32.sub (i32.load8_u offset=100 (local.get $i)) (i32.const 48)))
    (call $check (local.get $d))
    (local.get $d))
  (func $sum (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (call $digit (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc))
  (func $safe_sum (param $n i32) (result i32)
    (block $caught (result i32)
      (try_table (result i32) (catch $bad_digit $caught)
        (call $sum (local.get $n)))
      (return)))
  (func $rethrowing (param $n i32) (result i32)
    (block $h (result exnref)
      (try_table (result i32) (catch_all_ref $h)
        (call $sum (local.get $n)))
      (return))
    (throw_ref))
  (func $print (param $v i32)
    (local $p i32)
    (local.set $p (i32.const 63))
    (i32.store8 (i32.const 63) (i32.const 10))
    (loop $digits
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $digits (i32.ne (local.get $v) (i32.const 0))))
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (i32.sub (i32.const 64) (local.get $p)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (call $print (call $safe_sum (i32.const 5)))
    (call $print (call $safe_sum (i32.const 7)))
    (drop (call $rethrowing (i32.const 7)))))
