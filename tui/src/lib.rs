//! deja's front ends over a replayer [`Session`](deja_replayer::Session).
//!
//! Today: [`batch`], the scriptable front end behind `deja debug TRACE --batch FILE|-`: one
//! command per line in, one result per line out (text, or JSON with `--json`).
//!
//! To come: the terminal UI (ratatui + crossterm) with gdb's single-key commands.

#![forbid(unsafe_code)]

pub mod batch;
