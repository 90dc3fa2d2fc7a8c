//! Superinstructions: fused headers placed in front of common sequences of ops.
//!
//! A stack interpreter spends most of its time dispatching and moving values through the operand
//! stack. For sequences such as `local.get a; local.get b; i32.add; local.set c`, this pass puts a
//! header op (`Op::FuseLLSet`) *in front of* the original ops, which stay where they are:
//!
//! ```text
//! [Steps(n), ..., FuseLLSet{add,a,b,c}, LocalGet(a), LocalGet(b), I32Add, LocalSet(c), ...]
//! ```
//!
//! The fast loop executes the header's whole effect and jumps over the ops it covers; the
//! single-step loop treats a header as a no-op and executes the covered ops one at a time. So the
//! time model is untouched (see `code.rs`): headers are not steps, they sit inside runs (after
//! the run's `Steps`, never at a branch target), and whenever execution can stop — at a run head
//! in the fast loop, or anywhere in the single-step loop — the value stack is exactly the abstract
//! machine's. A header that cannot complete without trapping (an out-of-bounds fused load or
//! store) declines: it does nothing and execution continues with the first covered op, which then
//! traps at its own pc and position.
//!
//! A header never covers a call (calls end runs and leave the loop), and covers a branch (`br_if`
//! or `if`) only as its last op, where the run ends anyway; the header then takes the branch
//! itself using the target stored in that op.

use crate::code::{BinOp, CompiledFunc, LoadKind, Op, StoreWidth};

fn local(op: &Op) -> Option<u16> {
    match *op {
        Op::LocalGet(i) => u16::try_from(i).ok(),
        _ => None,
    }
}

fn konst(op: &Op) -> Option<u64> {
    match *op {
        Op::I32Const(v) => Some(u64::from(v as u32)),
        Op::I64Const(v) => Some(v as u64),
        Op::F32Const(v) => Some(u64::from(v)),
        Op::F64Const(v) => Some(v),
        _ => None,
    }
}

/// An integer constant that fits an `i32` (see `Op::FuseLLCSet`).
fn small_int(op: &Op) -> Option<i32> {
    match *op {
        Op::I32Const(v) => Some(v),
        Op::I64Const(v) => i32::try_from(v).ok(),
        _ => None,
    }
}

/// `local.set c` or `local.tee c`: `(c, tee)`.
fn set(op: &Op) -> Option<(u16, bool)> {
    match *op {
        Op::LocalSet(i) => Some((u16::try_from(i).ok()?, false)),
        Op::LocalTee(i) => Some((u16::try_from(i).ok()?, true)),
        _ => None,
    }
}

fn cond_branch(op: &Op) -> bool {
    matches!(op, Op::BrIf(_) | Op::If(_))
}

/// A binary operator whose result can be a branch condition.
fn cond_op(op: &Op) -> Option<BinOp> {
    BinOp::of(op).filter(|b| b.yields_i32())
}

/// The header for the ops starting at `w[0]`, if a pattern matches, and how many ops it covers.
/// `w` holds the following ops of the same run (step ops only; a branch can only be last).
fn header(w: &[Op]) -> Option<(Op, usize)> {
    let at = |i: usize| w.get(i);
    let l = |i: usize| at(i).and_then(local);
    let k = |i: usize| at(i).and_then(konst);
    let bin = |i: usize| at(i).and_then(BinOp::of);
    let cmp = |i: usize| at(i).and_then(cond_op);
    let st = |i: usize| at(i).and_then(set);
    let br = |i: usize| at(i).is_some_and(cond_branch);

    // Longest patterns first.
    if let (Some(a), Some(b), Some(kc), Some(op1), Some(op2)) = (l(0), l(1), k(2), bin(3), bin(4)) {
        if let Some((c, tee)) = st(5)
            && let Some(k) = small_int(&w[2])
        {
            return Some((
                Op::FuseLLCSet {
                    op1,
                    op2,
                    a,
                    b,
                    c,
                    tee,
                    k,
                },
                6,
            ));
        }
        return Some((
            Op::FuseLLC {
                op1,
                op2,
                a,
                b,
                k: kc,
            },
            5,
        ));
    }
    if let (Some(a), Some(b), Some(op1), Some(c), Some(d), Some(op2), Some(op3)) =
        (l(0), l(1), bin(2), l(3), l(4), bin(5), bin(6))
    {
        return Some((
            Op::FuseLL2 {
                op1,
                op2,
                op3,
                a,
                b,
                c,
                d,
            },
            7,
        ));
    }
    if let (Some(a), Some(b), Some(op)) = (l(0), l(1), bin(2)) {
        if let Some((c, tee)) = st(3) {
            return Some((Op::FuseLLSet { op, a, b, c, tee }, 4));
        }
        if br(3) && op.yields_i32() {
            return Some((Op::FuseLLBr { op, a, b }, 4));
        }
        return Some((Op::FuseLL { op, a, b }, 3));
    }
    if let (Some(a), Some(k), Some(op)) = (l(0), k(1), bin(2)) {
        if let Some((c, tee)) = st(3) {
            match op {
                BinOp::I32Add => {
                    let k = k as u32;
                    return Some((Op::FuseI32AddSet { a, c, tee, k }, 4));
                }
                BinOp::I32Sub => {
                    let k = (k as u32).wrapping_neg();
                    return Some((Op::FuseI32AddSet { a, c, tee, k }, 4));
                }
                BinOp::I64Add => return Some((Op::FuseI64AddSet { a, c, tee, k }, 4)),
                BinOp::I64Sub => {
                    let k = k.wrapping_neg();
                    return Some((Op::FuseI64AddSet { a, c, tee, k }, 4));
                }
                _ => {}
            }
            return Some((Op::FuseLCSet { op, a, c, tee, k }, 4));
        }
        if br(3) && op.yields_i32() {
            let k32 = k as u32;
            let specialised = match op {
                BinOp::I32Eq => Some(Op::FuseI32EqBr { a, k: k32 }),
                BinOp::I32Ne => Some(Op::FuseI32NeBr { a, k: k32 }),
                BinOp::I32LtS => Some(Op::FuseI32LtSBr { a, k: k32 }),
                BinOp::I32LtU => Some(Op::FuseI32LtUBr { a, k: k32 }),
                BinOp::I32GtS => Some(Op::FuseI32GtSBr { a, k: k32 }),
                BinOp::I32GtU => Some(Op::FuseI32GtUBr { a, k: k32 }),
                BinOp::I32LeS => Some(Op::FuseI32LeSBr { a, k: k32 }),
                BinOp::I32LeU => Some(Op::FuseI32LeUBr { a, k: k32 }),
                BinOp::I32GeS => Some(Op::FuseI32GeSBr { a, k: k32 }),
                BinOp::I32GeU => Some(Op::FuseI32GeUBr { a, k: k32 }),
                _ => None,
            };
            return Some((specialised.unwrap_or(Op::FuseLCBr { op, a, k }), 4));
        }
        return Some((Op::FuseLC { op, a, k }, 3));
    }
    if let (Some(a), Some(b), Some((kind, off1)), Some((width, off2))) = (
        l(0),
        l(1),
        at(2).and_then(LoadKind::of),
        at(3).and_then(StoreWidth::of),
    ) {
        return Some((
            Op::FuseLLLoadStore {
                kind,
                width,
                a,
                b,
                off1,
                off2,
            },
            4,
        ));
    }
    if let (Some(a), Some(b)) = (l(0), l(1))
        && let Some((width, off)) = at(2).and_then(StoreWidth::of)
    {
        return Some((Op::FuseLLStore { width, a, b, off }, 3));
    }
    if let (Some(b), Some(op)) = (l(0), bin(1)) {
        if let Some((c, tee)) = st(2) {
            return Some((Op::FuseSLSet { op, b, c, tee }, 3));
        }
        return Some((Op::FuseSL { op, b }, 2));
    }
    if let (Some(k), Some(op)) = (k(0), bin(1)) {
        if let Some((c, tee)) = st(2) {
            return Some((Op::FuseSCSet { op, c, tee, k }, 3));
        }
        if br(2) && op.yields_i32() {
            return Some((Op::FuseSCBr { op, k }, 3));
        }
        return Some((Op::FuseSC { op, k }, 2));
    }
    if let (Some(k), Some(b), Some(op)) = (k(0), l(1), bin(2)) {
        return Some((Op::FuseCL { op, b, k }, 3));
    }
    if let Some(a) = l(0) {
        if matches!(at(1), Some(Op::I32Eqz)) && br(2) {
            return Some((Op::FuseLBr { a, eqz: true }, 3));
        }
        if br(1) {
            return Some((Op::FuseLBr { a, eqz: false }, 2));
        }
        if let Some((kind, off)) = at(1).and_then(LoadKind::of) {
            if let Some((c, tee)) = st(2) {
                return Some((
                    Op::FuseLLoadSet {
                        kind,
                        a,
                        c,
                        tee,
                        off,
                    },
                    3,
                ));
            }
            return Some((Op::FuseLLoad { kind, a, off }, 2));
        }
        if let Some((width, off)) = at(1).and_then(StoreWidth::of) {
            return Some((Op::FuseSLStore { width, b: a, off }, 2));
        }
        if let Some((c, tee)) = st(1) {
            return Some((Op::FuseCopy { a, c, tee }, 2));
        }
    }
    if let Some(op) = cmp(0)
        && br(1)
    {
        return Some((Op::FuseSSBr { op }, 2));
    }
    if let (Some(op), Some((c, tee))) = (bin(0), st(1)) {
        return Some((Op::FuseSSSet { op, c, tee }, 2));
    }
    if let (Some(k), Some((c, tee))) = (k(0), st(1)) {
        return Some((Op::FuseConstSet { c, tee, k }, 2));
    }
    None
}

/// Whether `op` may sit inside a fused window other than last: a step op that does not end its
/// run.
fn inner(op: &Op) -> bool {
    op.is_step() && !op.ends_run()
}

/// The most ops a header covers.
const MAX_WINDOW: usize = 7;

/// Inserts fused headers into a translated function and remaps every branch target.
pub(crate) fn fuse(code: &mut CompiledFunc) {
    let ops = &code.ops;
    let mut new_ops = Vec::with_capacity(ops.len() * 5 / 4);
    let mut new_pcs = Vec::with_capacity(ops.len() * 5 / 4);
    let mut new_left = Vec::with_capacity(ops.len() * 5 / 4);
    // Old op index -> new op index (of the op itself, never of a header).
    let mut map = vec![0u32; ops.len() + 1];
    let mut i = 0;
    while i < ops.len() {
        // The window: ops that stay in this run, plus at most one run-ending op.
        let mut end = i;
        while end < ops.len() && end - i < MAX_WINDOW && inner(&ops[end]) {
            end += 1;
        }
        if end < ops.len() && end - i < MAX_WINDOW && cond_branch(&ops[end]) {
            end += 1;
        }
        let covered = match header(&ops[i..end]) {
            Some((h, n)) => {
                new_ops.push(h);
                new_pcs.push(code.pcs[i]);
                // A header never traps (it declines instead).
                new_left.push(0);
                n
            }
            None => 1,
        };
        for j in i..i + covered {
            map[j] = new_ops.len() as u32;
            new_ops.push(ops[j]);
            new_pcs.push(code.pcs[j]);
            new_left.push(code.steps_left[j]);
        }
        i += covered;
    }
    map[ops.len()] = new_ops.len() as u32;
    let remap = |t: &mut u32| {
        if let Some(n) = map.get(*t as usize) {
            *t = *n;
        }
    };
    for op in &mut new_ops {
        match op {
            Op::Br(t) | Op::BrIf(t) | Op::BrOnNull(t) | Op::BrOnNonNull(t) => remap(&mut t.pc),
            Op::If(t) | Op::Jump(t) => remap(t),
            _ => {}
        }
    }
    for t in code.br_tables.iter_mut() {
        remap(&mut t.pc);
    }
    // Throw sites and calls are never covered by a header, so the ranges keep them.
    for h in code.handlers.iter_mut() {
        remap(&mut h.start);
        remap(&mut h.end);
    }
    for c in code.catches.iter_mut() {
        remap(&mut c.pc);
    }
    code.ops = new_ops.into();
    code.pcs = new_pcs.into();
    code.steps_left = new_left.into();
}

#[cfg(test)]
mod tests {
    //! Fusion must not be observable: the same program with and without fused headers pauses at
    //! the same positions with the same frames, locals and operand stacks, and traps at the
    //! same position and pc.

    use crate::{Config, Error, Instance, Linker, Module, Resumable, Store, Val};

    fn load(wat: &str, fuse: bool) -> (Store<()>, Instance) {
        let bytes = wat::parse_str(wat).expect("test module parses");
        let module = Module::from_binary_with(&bytes, fuse).expect("test module loads");
        let mut store = Store::new(Config::default(), ());
        let instance = Linker::new()
            .instantiate(&mut store, &module)
            .expect("test module instantiates");
        (store, instance)
    }

    /// Everything the debug API shows of the paused guest.
    #[derive(Debug, PartialEq)]
    struct View {
        position: u64,
        frames: Vec<(u32, u32, Vec<Val>, Vec<Val>)>,
    }

    fn view(store: &mut Store<()>) -> View {
        let position = store.position();
        let mut frames = Vec::new();
        let mut cursor = store.debug_frames();
        while !cursor.done() {
            let (func, pc) = cursor.wasm_function_index_and_pc().expect("a frame");
            let locals = (0..cursor.num_locals()).map(|i| cursor.local(i)).collect();
            let stack = (0..cursor.num_stacks()).map(|i| cursor.stack(i)).collect();
            frames.push((func.as_u32(), pc, locals, stack));
            cursor.move_to_parent();
        }
        View { position, frames }
    }

    fn with_budget(
        store: &mut Store<()>,
        budget: u64,
        start: impl FnOnce(&mut Store<()>) -> Result<Resumable, Error>,
    ) -> Result<Resumable, Error> {
        store.set_step_budget(Some(budget));
        start(store)
    }

    /// Runs `export(args)` in a fused and an unfused instance side by side, pausing after
    /// pseudo-random budgets (often longer than a run, so that the fast loop runs fused code, and
    /// often 1), and compares the views at every pause and the outcome.
    fn differential(wat: &str, export: &str, args: &[Val]) -> u64 {
        let (mut fused, fi) = load(wat, true);
        let (mut plain, pi) = load(wat, false);
        let ff = fused.get_func(fi, export).unwrap();
        let pf = plain.get_func(pi, export).unwrap();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next_budget = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            match seed % 8 {
                0 | 1 => 1,
                2 => seed % 997,
                _ => seed % 41,
            }
        };
        let mut pauses = 0;
        let budget = next_budget();
        let mut rf = with_budget(&mut fused, budget, |s| s.call_resumable(ff, args));
        let mut rp = with_budget(&mut plain, budget, |s| s.call_resumable(pf, args));
        while let (Ok(Resumable::Paused(_)), Ok(Resumable::Paused(_))) = (&rf, &rp) {
            assert_eq!(view(&mut fused), view(&mut plain), "after {pauses} pauses");
            pauses += 1;
            let budget = next_budget();
            rf = with_budget(&mut fused, budget, Store::resume);
            rp = with_budget(&mut plain, budget, Store::resume);
        }
        assert_eq!(format!("{rf:?}"), format!("{rp:?}"));
        assert_eq!(fused.position(), plain.position());
        if let (Some(fm), Some(pm)) = (fused.instance_memory(fi), plain.instance_memory(pi)) {
            assert!(
                fused.memory_data(fm) == plain.memory_data(pm),
                "memories differ"
            );
        }
        pauses
    }

    fn kernel(wat: &str, n: i32) {
        let pauses = differential(wat, "run", &[Val::I32(n)]);
        assert!(pauses > 100, "only {pauses} pauses");
    }

    #[test]
    fn kernel_loop_is_identical_at_every_pause() {
        kernel(include_str!("../benches/kernels/loop.wat"), 2000);
    }

    #[test]
    fn kernel_memcpy_is_identical_at_every_pause() {
        kernel(include_str!("../benches/kernels/memcpy.wat"), 1);
    }

    #[test]
    fn kernel_float_is_identical_at_every_pause() {
        kernel(include_str!("../benches/kernels/float.wat"), 1);
    }

    #[test]
    fn kernel_fib_rec_is_identical_at_every_pause() {
        kernel(include_str!("../benches/kernels/fib_rec.wat"), 15);
    }

    #[test]
    fn kernel_call_indirect_is_identical_at_every_pause() {
        kernel(include_str!("../benches/kernels/call_indirect.wat"), 2000);
    }

    /// Every header shape, with tees, `if`, `eqz`, every load and store width, floats and NaNs.
    const SHAPES: &str = r#"(module
      (memory 1)
      (func (export "run") (param $n i32) (result i64)
        (local $i i32) (local $x i64) (local $f f32) (local $d f64) (local $t i32) (local $s i32)
        (local.set $f (f32.const nan:0x200000))
        (local.set $d (f64.const 1.5))
        (loop $l
          ;; LLSet, LCSet with tee, SSSet, SLSet, SCSet
          (local.set $t (i32.add (local.get $i) (local.get $n)))
          (local.set $x (i64.add (local.get $x)
            (i64.extend_i32_u (local.tee $t (i32.mul (local.get $t) (i32.const 7))))))
          (local.set $x (i64.rotl (local.get $x) (i64.extend_i32_u (local.get $i))))
          (local.set $d (f64.mul (f64.convert_i32_s (local.get $i)) (local.get $d)))
          (local.set $f (f32.add (f32.convert_i32_u (local.get $t)) (f32.const nan:0x1234)))
          ;; LLStore, SLStore, LLoad of every width
          (i32.store offset=8 (local.get $i) (local.get $t))
          (i64.store offset=16 (i32.and (local.get $t) (i32.const 0xff)) (local.get $x))
          (i32.store8 (i32.const 300) (local.get $t))
          (i32.store16 (i32.const 302) (local.get $t))
          (i64.store32 (i32.const 304) (local.get $x))
          (f64.store (i32.const 312) (local.get $d))
          (f32.store (i32.const 320) (local.get $f))
          (local.set $x (i64.xor (local.get $x) (i64.load offset=16 (local.get $i))))
          (local.set $x (i64.add (local.get $x) (i64.load8_s (local.get $t))))
          (local.set $x (i64.add (local.get $x) (i64.load16_s (local.get $t))))
          (local.set $x (i64.add (local.get $x) (i64.load32_s (local.get $t))))
          (local.set $x (i64.add (local.get $x) (i64.load8_u (local.get $t))))
          (local.set $t (i32.add (i32.load8_s (local.get $i)) (i32.load16_s (local.get $i))))
          (local.set $t (i32.add (local.get $t) (i32.load16_u (local.get $i))))
          ;; LL, LC, SL, SC values kept on the stack across other code
          (local.set $x (i64.add (local.get $x)
            (i64.extend_i32_u (i32.sub (i32.shl (local.get $t) (local.get $i))
                                       (i32.shr_s (local.get $t) (i32.const 3))))))
          ;; Branch shapes: LLBr, LCBr with if, SSBr, SCBr, LBr with and without eqz
          (block $b
            (br_if $b (i32.gt_u (local.get $i) (local.get $n)))
            (if (i32.lt_s (local.get $t) (i32.const 100))
              (then (local.set $x (i64.sub (local.get $x) (i64.const 3))))
              (else (local.set $x (i64.add (local.get $x) (i64.const 5)))))
            (br_if $b (f64.lt (local.get $d) (local.get $d)))
            (br_if $b (f32.ne (local.get $f) (f32.const 0)))
            (br_if $b (i32.eqz (local.get $i)))
            (br_if $b (local.get $t))
            (local.set $x (i64.add (local.get $x) (i64.const 1))))
          (block $c (result i32)
            (br_if $c (i32.const 7) (i32.ge_u (local.get $i) (i32.const 3)))
            (drop)
            (i32.const 9))
          (local.set $t (i32.add (local.get $t)))
          ;; Copy, SL and SC feeding a store, SCBr and SSBr
          (local.set $t (local.get $i))
          ;; Specialised i32 compare-and-branch, across zero, and generic LCBr
          (local.set $s (i32.sub (local.get $i) (i32.const 30)))
          (block $e0 (br_if $e0 (i32.eq (local.get $s) (i32.const -2)))
            (local.set $x (i64.add (local.get $x) (i64.const 2))))
          (block $e1 (br_if $e1 (i32.ne (local.get $s) (i32.const 3)))
            (local.set $x (i64.add (local.get $x) (i64.const 4))))
          (block $e2 (br_if $e2 (i32.lt_s (local.get $s) (i32.const -2)))
            (local.set $x (i64.add (local.get $x) (i64.const 8))))
          (block $e3 (br_if $e3 (i32.lt_u (local.get $s) (i32.const 3)))
            (local.set $x (i64.add (local.get $x) (i64.const 16))))
          (block $e4 (br_if $e4 (i32.gt_s (local.get $s) (i32.const -2)))
            (local.set $x (i64.add (local.get $x) (i64.const 32))))
          (block $e5 (br_if $e5 (i32.gt_u (local.get $s) (i32.const 3)))
            (local.set $x (i64.add (local.get $x) (i64.const 64))))
          (block $e6 (br_if $e6 (i32.le_s (local.get $s) (i32.const -2)))
            (local.set $x (i64.add (local.get $x) (i64.const 128))))
          (block $e7 (br_if $e7 (i32.le_u (local.get $s) (i32.const 3)))
            (local.set $x (i64.add (local.get $x) (i64.const 256))))
          (block $e8 (br_if $e8 (i32.ge_s (local.get $s) (i32.const -2)))
            (local.set $x (i64.add (local.get $x) (i64.const 512))))
          (block $e9 (br_if $e9 (i32.ge_u (local.get $s) (i32.const 3)))
            (local.set $x (i64.add (local.get $x) (i64.const 1024))))
          (block $e (br_if $e (i64.ne (local.get $x) (i64.const 12345)))
            (local.set $x (i64.const 0)))
          ;; LL2 and CL
          (local.set $d (f64.sub (f64.mul (local.get $d) (local.get $d))
                                 (f64.div (local.get $d) (local.get $d))))
          (local.set $x (i64.sub (i64.const 1000) (local.get $x)))
          ;; LLoadSet and LLLoadStore
          (local.set $t (i32.load16_s offset=4 (local.get $i)))
          (i32.store offset=8 (local.get $i) (i32.load offset=12 (local.get $i)))
          ;; LLCSet and LLC
          (local.set $t (i32.add (local.get $t) (i32.shl (local.get $i) (i32.const 2))))
          (local.set $x (i64.xor (local.get $x) (i64.shr_s (local.get $x) (i64.const -3))))
          (i64.store (i32.const 416) (i64.sub (local.get $x) (i64.shr_u (local.get $x) (i64.const 3))))
          (i64.store (i32.const 400) (i64.add (i64.load (i32.const 400)) (local.get $x)))
          (i64.store (i32.const 408) (i64.mul (i64.load (i32.const 408)) (i64.const 3)))
          (block $d
            (br_if $d (i32.gt_u (i32.load (i32.const 300)) (i32.const 1000)))
            (br_if $d (i32.lt_u (i32.load (i32.const 300)) (i32.load (i32.const 302))))
            (local.set $x (i64.add (local.get $x) (i64.const 11))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
        (i64.add (local.get $x) (i64.reinterpret_f64 (local.get $d)))
        (i64.add (i64.extend_i32_u (i32.reinterpret_f32 (local.get $f))))))"#;

    #[test]
    fn every_header_shape_is_identical_at_every_pause() {
        let (mut store, instance) = load(SHAPES, true);
        let run = store.get_func(instance, "run").unwrap();
        let r = store.call(run, &[Val::I32(60)]);
        assert!(matches!(r.as_deref(), Ok([Val::I64(_)])), "{r:?}");
        let pauses = differential(SHAPES, "run", &[Val::I32(60)]);
        assert!(pauses > 100, "only {pauses} pauses");
    }

    #[test]
    fn the_shapes_module_is_fused() {
        let bytes = wat::parse_str(SHAPES).unwrap();
        let module = Module::from_binary_with(&bytes, true).unwrap();
        let ops = &module.inner.code[crate::types::DefinedFuncIndex::from_u32(0)].ops;
        let mut kinds: Vec<String> = ops
            .iter()
            .filter(|op| op.is_fused())
            .map(|op| {
                format!("{op:?}")
                    .split([' ', '('])
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), 37, "shapes covered: {kinds:?}");
    }

    /// A fused memory copy declines when either access is out of bounds; the original ops then
    /// trap at the load or at the store.
    #[test]
    fn traps_inside_fused_copies_are_identical() {
        let wat = r#"(module
          (memory 1)
          (func (export "run") (param $to i32) (param $from i32) (result i32)
            (local $z i32)
            (i32.store (local.get $z) (i32.const 5))
            (i32.store offset=2 (local.get $to) (i32.load offset=1 (local.get $from)))
            (local.get $to)))"#;
        for (to, from) in [(0, 0), (65534, 0), (0, 65534), (65534, 65534)] {
            for budget in [None, Some(1), Some(4), Some(7)] {
                let outcome = |fuse: bool| {
                    let (mut store, instance) = load(wat, fuse);
                    let f = store.get_func(instance, "run").unwrap();
                    store.set_step_budget(budget);
                    let mut r = store.call_resumable(f, &[Val::I32(to), Val::I32(from)]);
                    if let Ok(Resumable::Paused(_)) = r {
                        store.set_step_budget(None);
                        r = store.resume();
                    }
                    let memory = store.instance_memory(instance).unwrap();
                    let data = store.memory_data(memory)[..16].to_vec();
                    (format!("{r:?}"), store.position(), data)
                };
                assert_eq!(outcome(true), outcome(false), "{to}, {from}, {budget:?}");
            }
        }
    }

    /// Traps inside fused sequences report the same code, position and backtrace.
    #[test]
    fn traps_inside_fused_sequences_are_identical() {
        let wat = r#"(module
          (memory 1)
          (func $load (param $a i32) (result i32)
            (i32.add (i32.const 1) (i32.load offset=4 (local.get $a))))
          (func $store (param $a i32) (result i32)
            (i32.store (local.get $a) (local.get $a)) (i32.const 0))
          (func $store_sl (param $a i32) (result i32)
            (i64.store (local.get $a) (i64.extend_i32_u (local.get $a))) (i32.const 0))
          (func $store_ssl (param $a i32) (result i32)
            (local $v i64)
            (i64.store16 (i32.add (local.get $a) (i32.const 1)) (local.get $v)) (i32.const 0))
          (func $div (param $a i32) (result i32)
            (i32.div_u (i32.add (local.get $a) (i32.const 1)) (i32.sub (local.get $a) (local.get $a))))
          (func (export "run") (param $which i32) (param $a i32) (result i32)
            (block $b3 (block $b2 (block $b1 (block $b0
              (br_table $b0 $b1 $b2 $b3 (local.get $which)))
              (return (call $load (local.get $a))))
              (return (call $store (local.get $a))))
              (return (call $store_sl (local.get $a))))
            (if (result i32) (i32.eq (local.get $which) (i32.const 3))
              (then (call $store_ssl (local.get $a)))
              (else (call $div (local.get $a))))))"#;
        for which in 0..5 {
            for budget in [None, Some(1), Some(2), Some(3), Some(5), Some(8)] {
                let outcome = |fuse: bool| {
                    let (mut store, instance) = load(wat, fuse);
                    let f = store.get_func(instance, "run").unwrap();
                    store.set_step_budget(budget);
                    let mut r = store.call_resumable(f, &[Val::I32(which), Val::I32(65534)]);
                    if let Ok(Resumable::Paused(_)) = r {
                        store.set_step_budget(None);
                        r = store.resume();
                    }
                    let Err(Error::Trap(trap)) = r else {
                        panic!("expected a trap, got {r:?}");
                    };
                    (trap.code, trap.position, trap.backtrace, store.position())
                };
                assert_eq!(
                    outcome(true),
                    outcome(false),
                    "case {which}, budget {budget:?}"
                );
            }
        }
    }
}
