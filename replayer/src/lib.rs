//! deja's replayer: feeds a trace back into `deja-runtime` and moves through the run in both
//! directions.
//!
//! Main types (to come): `Session` over a trace with a current position and a frame cursor;
//! `Timeline` with checkpoints (snapshots thinned with distance); commands `step_forward`,
//! `reverse_step`, `reverse_continue`, `seek`, each forward and reverse.
//!
//! Status: an empty library for now; replay and time travel are separate issues.

#![forbid(unsafe_code)]
