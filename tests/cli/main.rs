//! Integration tests: the real `grpcx` binary against real servers on 127.0.0.1, started by
//! each test on an ephemeral port. Every process is bounded in time and killed on drop.

// Test code: a failed unwrap (or index) is a failed test, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../support/mod.rs"]
mod support;

mod bad_input;
mod bench;
mod cache;
mod call;
mod deadlines;
mod describe;
mod errors;
mod export;
mod faults;
mod gateway;
mod grpcurl;
mod health;
mod hostile;
mod json;
mod list;
mod metadata;
mod openapi;
mod shell;
mod sources;
mod streaming;
mod tls;
mod tour;
mod usage;
