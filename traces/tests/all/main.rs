//! Integration tests of deja-traces, one module per topic (wasmtime's `tests/all` layout).

mod corpus;
mod corruption;
mod random_access;
mod roundtrip;
mod support;
mod truncation;
mod versions;
mod writer;
