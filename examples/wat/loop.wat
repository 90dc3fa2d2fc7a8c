;; Never ends: `deja run --max-steps 1000000 examples/wat/loop.wat` stops it.
(module
  (func $spin (export "_start")
    (local $i i64)
    (loop $forever
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $forever))))
