//! Traps: the stable [`TrapCode`] that traces store, and [`Trap`] with its Wasm backtrace.

use crate::FuncIndex;
use std::fmt;

/// Why a guest trapped.
///
/// Traces store this as one byte, so the discriminants are part of the trace format: never
/// renumber a variant, only append new ones.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrapCode {
    /// `unreachable` was executed.
    UnreachableCodeReached = 0,
    /// A load, store or bulk memory operation was out of bounds.
    MemoryOutOfBounds = 1,
    /// A table access or bulk table operation was out of bounds.
    TableOutOfBounds = 2,
    /// `call_indirect` on an index beyond the table.
    UndefinedElement = 3,
    /// `call_indirect` on a null table entry.
    UninitializedElement = 4,
    /// `call_indirect` whose callee has another signature.
    IndirectCallTypeMismatch = 5,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero = 6,
    /// Integer overflow (`MIN / -1`, or a float-to-int conversion out of range).
    IntegerOverflow = 7,
    /// Float-to-int conversion of a NaN.
    BadConversionToInteger = 8,
    /// The call-depth limit (counted in Wasm frames) was exceeded.
    CallStackExhausted = 9,
    /// A null reference was dereferenced (`ref.as_non_null`).
    NullReference = 10,
    /// `call_ref` or `return_call_ref` of a null function reference.
    NullFunctionReference = 11,
    /// `throw_ref` of a null exception reference.
    NullExceptionReference = 12,
    /// An exception was thrown and no `catch` clause caught it: it left the outermost frame.
    UncaughtException = 13,
}

impl TrapCode {
    /// Every trap code, in discriminant order.
    pub const ALL: [TrapCode; 14] = [
        TrapCode::UnreachableCodeReached,
        TrapCode::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds,
        TrapCode::UndefinedElement,
        TrapCode::UninitializedElement,
        TrapCode::IndirectCallTypeMismatch,
        TrapCode::IntegerDivisionByZero,
        TrapCode::IntegerOverflow,
        TrapCode::BadConversionToInteger,
        TrapCode::CallStackExhausted,
        TrapCode::NullReference,
        TrapCode::NullFunctionReference,
        TrapCode::NullExceptionReference,
        TrapCode::UncaughtException,
    ];

    /// The byte stored in traces.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// Decodes a byte stored in a trace; `None` for an unknown code.
    pub fn from_u8(byte: u8) -> Option<TrapCode> {
        Self::ALL.get(usize::from(byte)).copied()
    }

    /// The message the WebAssembly specification's test suite uses for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::UnreachableCodeReached => "unreachable",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::UndefinedElement => "undefined element",
            TrapCode::UninitializedElement => "uninitialized element",
            TrapCode::IndirectCallTypeMismatch => "indirect call type mismatch",
            TrapCode::IntegerDivisionByZero => "integer divide by zero",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::CallStackExhausted => "call stack exhausted",
            TrapCode::NullReference => "null reference",
            TrapCode::NullFunctionReference => "null function reference",
            TrapCode::NullExceptionReference => "null exception reference",
            TrapCode::UncaughtException => "uncaught exception",
        }
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// One Wasm frame of a backtrace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// Module-level function index (imports included).
    pub func: FuncIndex,
    /// The function's name from the module's name section, if any.
    pub name: Option<String>,
    /// Module-relative byte offset of the instruction: the trapping one for the innermost frame,
    /// the `call` for the others.
    pub pc: u32,
}

impl fmt::Display for FrameInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(
                f,
                "func {} ({name}) at pc {:#x}",
                self.func.as_u32(),
                self.pc
            ),
            None => write!(f, "func {} at pc {:#x}", self.func.as_u32(), self.pc),
        }
    }
}

/// A trap raised by guest code: its code, the position at which it happened (the trapping
/// instruction would have been step `position + 1`) and the Wasm backtrace, innermost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    /// Why.
    pub code: TrapCode,
    /// Steps completed before the trapping instruction.
    pub position: u64,
    /// Innermost frame first.
    pub backtrace: Vec<FrameInfo>,
    /// For [`TrapCode::UncaughtException`]: the exception, as `$tag (i32 42)` (its tag's
    /// export name, else `tag N`, and its values).
    pub exception: Option<String>,
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.exception {
            Some(e) => write!(
                f,
                "wasm trap: {} {e} at position {}",
                self.code, self.position
            )?,
            None => write!(f, "wasm trap: {} at position {}", self.code, self.position)?,
        }
        // Deep recursion gives thousands of equal frames: show runs of them once.
        let mut groups: Vec<(usize, usize)> = Vec::new();
        for (i, frame) in self.backtrace.iter().enumerate() {
            match groups.last_mut() {
                Some((start, end)) if self.backtrace[*start] == *frame => *end = i,
                _ => groups.push((i, i)),
            }
        }
        const HEAD: usize = 20;
        const TAIL: usize = 10;
        for (g, (start, end)) in groups.iter().enumerate() {
            if groups.len() > HEAD + TAIL && g == HEAD {
                let skipped = groups.len() - HEAD - TAIL;
                write!(f, "\n  ... {skipped} more groups of frames ...")?;
            }
            if groups.len() > HEAD + TAIL && g >= HEAD && g < groups.len() - TAIL {
                continue;
            }
            let frame = &self.backtrace[*start];
            if start == end {
                write!(f, "\n  {start}: {frame}")?;
            } else {
                write!(
                    f,
                    "\n  {start}..={end}: {frame} ({} frames)",
                    end - start + 1
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_backtraces_are_condensed() {
        let frame = |func: u32, pc: u32| FrameInfo {
            func: FuncIndex::from_u32(func),
            name: None,
            pc,
        };
        let mut backtrace = vec![frame(0, 0x35); 5000];
        backtrace.push(frame(1, 0x3f));
        let trap = Trap {
            code: TrapCode::CallStackExhausted,
            position: 7,
            backtrace,
            exception: None,
        };
        let text = trap.to_string();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            text.contains("0..=4999: func 0 at pc 0x35 (5000 frames)"),
            "{text}"
        );
        assert!(text.contains("5000: func 1 at pc 0x3f"), "{text}");
    }

    #[test]
    fn trap_codes_round_trip_through_their_byte() {
        for (i, code) in TrapCode::ALL.iter().enumerate() {
            assert_eq!(
                code.as_u8() as usize,
                i,
                "discriminants are dense and ordered"
            );
            assert_eq!(TrapCode::from_u8(code.as_u8()), Some(*code));
        }
        assert_eq!(TrapCode::from_u8(TrapCode::ALL.len() as u8), None);
        // Pinned values: traces written today must decode tomorrow.
        assert_eq!(TrapCode::NullReference as u8, 10);
        assert_eq!(TrapCode::UnreachableCodeReached as u8, 0);
        assert_eq!(TrapCode::CallStackExhausted as u8, 9);
        assert_eq!(TrapCode::UncaughtException as u8, 13);
    }
}
