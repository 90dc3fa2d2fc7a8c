//! What a step is: the one definition that every engine counts by.
//!
//! deja's time model (`shared/DESIGN.md`, "Time") counts *steps*: executed Wasm instructions,
//! except the structural markers. This module states that rule once, as functions of
//! wasmparser's [`Operator`] — the shape of wasmtime's `OperatorCost` and `fuel_before_op`, with
//! deja's costs instead of fuel — so that the interpreter's translator and any later engine take
//! their step counts, and the boundaries of the straight-line runs they count them in, from the
//! same place and cannot disagree.
//!
//! - [`cost`]: how many steps an operator completes when it executes (0 or 1).
//! - [`ends_run`]: whether an operator can transfer control, so that the straight-line run it
//!   belongs to ends after it. A run also ends where a label is bound (any branch target); the
//!   translator decides that, because it owns the control stack.
//!
//! Inside a run, every instruction's *offset* (the steps of its run completed before it) follows
//! from [`cost`]; an engine that adds a whole run's steps at its head recovers the exact position
//! of a trap in the middle of the run from that offset, without looking at its own code.

//! # WebAssembly 3.0 instructions
//! The rule is the same for them; where the control flow is new, this is what it means:
//! - **Tail calls** (`return_call`, `return_call_indirect`) are one step each, like `call`: the
//!   callee's frame replaces the caller's, so the frame depth stays as it was (the call-depth
//!   limit is never reached by tail calls), and no return step follows when the callee
//!   returns. A tail call to a host function is a host call like any other (the position
//!   during the host call is before the tail call's step, as for `call`); the tail-calling
//!   frame stays on the stack while the host runs and then returns the host's results, without
//!   another step. `return_call_ref` is the same through a function reference.
//! - **Typed function references:** `call_ref` is a call (one step, a frame more);
//!   `br_on_null` and `br_on_non_null` are branches (one step whether taken or not, ending the
//!   run); `ref.as_non_null` is one step that may trap.
//! - **Exception handling:** `try_table` is a structural marker like `block` (no step, and
//!   leaving it normally is its `end`, a marker too). `throw`, `throw_ref` and the legacy
//!   `rethrow` are one step each, and the step includes the whole unwinding: a `throw` that
//!   leaves three frames and lands in a `catch` clause's label is one step, and execution goes
//!   on at the label with the payload pushed, as after a `br`. When the label is the end of the
//!   function body the frame returns without another step, as after a `br` there. A throw that
//!   nothing catches does not complete: like a trap, it ends the call with the position before
//!   the throw, every frame still showing where it was. The legacy `try`, `catch`,
//!   `catch_all` and `delegate` are markers like `block`, `else` and `end`.
//! - **SIMD and relaxed SIMD:** every `0xfd` instruction is one step, whatever its lane
//!   count: `v128.const`, a shuffle, a lane load or store and `i32x4.dot_i16x8_s` alike. None
//!   transfers control; the loads and stores trap as scalar ones do, with the position before
//!   them.

use wasmparser::Operator;

/// Where an operator sits, for the one case where the operator alone does not decide its cost:
/// the `end` that closes a function body is the function's return, a step; every other `end`
/// closes a block and is a marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// The operator closes the function body (only ever an `end`).
    BodyEnd,
    /// Anywhere else.
    Inside,
}

/// The steps an operator completes when it executes: 0 for the structural markers (`block`,
/// `loop`, `else`, and the `end` of a block, loop or `if`), 1 for every other instruction,
/// including `nop`, a function body's final `end` (the return) and a `call` to an import.
pub fn cost(op: &Operator<'_>, context: Context) -> u32 {
    match op {
        Operator::Block { .. }
        | Operator::Loop { .. }
        | Operator::Else
        | Operator::TryTable { .. }
        | Operator::Try { .. }
        | Operator::Catch { .. }
        | Operator::CatchAll
        | Operator::Delegate { .. } => 0,
        Operator::End => u32::from(context == Context::BodyEnd),
        _ => 1,
    }
}

/// Whether the run of straight-line code that contains `op` ends after it: the operator can
/// transfer control (a branch, an `if`, a call, a return, a trap that always happens), or it is
/// the `else` that jumps over the alternative, or the `end` of the body.
pub fn ends_run(op: &Operator<'_>, context: Context) -> bool {
    match op {
        Operator::Br { .. }
        | Operator::BrIf { .. }
        | Operator::BrTable { .. }
        | Operator::If { .. }
        | Operator::Else
        | Operator::Catch { .. }
        | Operator::CatchAll
        | Operator::Throw { .. }
        | Operator::ThrowRef
        | Operator::Rethrow { .. }
        | Operator::Return
        | Operator::Call { .. }
        | Operator::CallIndirect { .. }
        | Operator::ReturnCall { .. }
        | Operator::ReturnCallIndirect { .. }
        | Operator::CallRef { .. }
        | Operator::ReturnCallRef { .. }
        | Operator::BrOnNull { .. }
        | Operator::BrOnNonNull { .. }
        | Operator::Unreachable => true,
        Operator::End => context == Context::BodyEnd,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{Context, cost, ends_run};
    use wasmparser::{BlockType, Operator};

    #[test]
    fn markers_are_not_steps_and_everything_else_is() {
        let block = Operator::Block {
            blockty: BlockType::Empty,
        };
        let lp = Operator::Loop {
            blockty: BlockType::Empty,
        };
        assert_eq!(cost(&block, Context::Inside), 0);
        assert_eq!(cost(&lp, Context::Inside), 0);
        assert_eq!(cost(&Operator::Else, Context::Inside), 0);
        assert_eq!(cost(&Operator::End, Context::Inside), 0);
        assert_eq!(cost(&Operator::End, Context::BodyEnd), 1);
        assert_eq!(cost(&Operator::Nop, Context::Inside), 1);
        assert_eq!(cost(&Operator::I32Add, Context::Inside), 1);
        assert_eq!(
            cost(
                &Operator::If {
                    blockty: BlockType::Empty
                },
                Context::Inside
            ),
            1
        );
        assert_eq!(
            cost(&Operator::Call { function_index: 0 }, Context::Inside),
            1
        );
    }

    #[test]
    fn control_transfers_end_runs() {
        assert!(ends_run(
            &Operator::Call { function_index: 3 },
            Context::Inside
        ));
        assert!(ends_run(
            &Operator::BrIf { relative_depth: 0 },
            Context::Inside
        ));
        assert!(ends_run(&Operator::Else, Context::Inside));
        assert!(ends_run(&Operator::Unreachable, Context::Inside));
        assert!(ends_run(&Operator::End, Context::BodyEnd));
        assert!(!ends_run(&Operator::End, Context::Inside));
        assert!(!ends_run(&Operator::I32DivS, Context::Inside));
        assert!(!ends_run(
            &Operator::Loop {
                blockty: BlockType::Empty
            },
            Context::Inside
        ));
    }
}
