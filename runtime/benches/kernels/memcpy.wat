;; Memory traffic: copy 64 KiB word by word between two buffers, $n times, then checksum.
(module
  (memory 4)
  (func (export "run") (param $n i32) (result i64)
    (local $i i32) (local $sum i64)
    ;; Fill the source once.
    (loop $fill
      (i32.store (local.get $i) (i32.mul (local.get $i) (i32.const 2654435761)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 65536))))
    (loop $rep
      (local.set $i (i32.const 0))
      (loop $copy
        (i32.store offset=65536 (local.get $i) (i32.load (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $copy (i32.lt_u (local.get $i) (i32.const 65536))))
      (local.set $sum (i64.add (local.get $sum) (i64.load32_u offset=65536 (i32.const 4096))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $rep (local.get $n)))
    (local.get $sum)))
