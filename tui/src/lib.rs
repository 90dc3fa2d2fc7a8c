//! deja's terminal UI (ratatui + crossterm) over a replayer `Session`: code, call stack,
//! locals, operand stack, globals, memory, host calls and guest output as of the current
//! position, with gdb's single-key commands (lowercase forward, uppercase reverse).
//!
//! Status: an empty library for now; the UI is a separate issue.

#![forbid(unsafe_code)]
