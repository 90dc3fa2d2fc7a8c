;; Floating point: a Mandelbrot escape-time loop over a grid, $n rows of 256 points.
(module
  (func (export "run") (param $n i32) (result i64)
    (local $row i32) (local $col i32) (local $iter i32) (local $total i64)
    (local $cr f64) (local $ci f64) (local $zr f64) (local $zi f64) (local $t f64)
    (loop $rows
      (local.set $col (i32.const 0))
      (loop $cols
        (local.set $cr (f64.sub (f64.mul (f64.convert_i32_u (local.get $col)) (f64.const 0.01171875)) (f64.const 2.0)))
        (local.set $ci (f64.sub (f64.mul (f64.convert_i32_u (i32.rem_u (local.get $row) (i32.const 256))) (f64.const 0.0078125)) (f64.const 1.0)))
        (local.set $zr (f64.const 0)) (local.set $zi (f64.const 0)) (local.set $iter (i32.const 0))
        (block $escaped
          (loop $iterate
            (br_if $escaped (f64.gt (f64.add (f64.mul (local.get $zr) (local.get $zr))
                                             (f64.mul (local.get $zi) (local.get $zi))) (f64.const 4.0)))
            (local.set $t (f64.add (f64.sub (f64.mul (local.get $zr) (local.get $zr))
                                            (f64.mul (local.get $zi) (local.get $zi))) (local.get $cr)))
            (local.set $zi (f64.add (f64.mul (f64.mul (f64.const 2.0) (local.get $zr)) (local.get $zi)) (local.get $ci)))
            (local.set $zr (local.get $t))
            (local.set $iter (i32.add (local.get $iter) (i32.const 1)))
            (br_if $iterate (i32.lt_u (local.get $iter) (i32.const 64)))))
        (local.set $total (i64.add (local.get $total) (i64.extend_i32_u (local.get $iter))))
        (local.set $col (i32.add (local.get $col) (i32.const 1)))
        (br_if $cols (i32.lt_u (local.get $col) (i32.const 256))))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $row) (local.get $n))))
    (local.get $total)))
