//! deja's front ends over a replayer [`Session`](deja_replayer::Session).
//!
//! - The terminal UI (ratatui + crossterm) with gdb's single-key commands: lowercase forward,
//!   uppercase reverse. State, update and drawing are separate, as in ratatui's examples and
//!   gitui: [`app::App`] holds the state, `handle_key` turns keys into [`app::Action`]s,
//!   `update` applies them and returns the [`worker::Command`] the worker thread (which owns
//!   the session) must run; drawing is `impl Widget for &App` ([`draw`]).
//! - [`batch`], the scriptable front end behind `deja debug TRACE --batch FILE|-`: one command
//!   per line in, one result per line out (text, or JSON with `--json`).

#![forbid(unsafe_code)]

pub mod app;
pub mod batch;
pub mod draw;
pub mod error;
mod lines;
pub mod source;
pub mod terminal;
pub mod view;
pub mod worker;
