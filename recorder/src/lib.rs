//! deja's recorder: runs a guest on `deja-runtime` and writes everything it receives from the
//! outside world into a trace.
//!
//! The recorder sits on the runtime's host-call seam: every imported function call (WASI or an
//! embedder's own) is observed with its position, arguments, results and guest-memory writes,
//! every debug event is observed, and the run's end is recorded. It knows nothing of WASI.
//!
//! Status: an empty library for now; the record workflow is a separate issue.

#![forbid(unsafe_code)]
