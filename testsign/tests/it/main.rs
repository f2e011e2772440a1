//! Integration tests: every artifact the signer produces is checked with tools that share no code with it
//! (the openssl CLI, tar, a real docker-registry) or against the specifications directly.
// Helpers outside #[test] functions panic on purpose when an artifact is not what the test expects, and the
// hand-written DER/TLS encoders cast lengths that are small by construction.
#![allow(clippy::unwrap_used, clippy::panic, clippy::cast_possible_truncation, clippy::cast_possible_wrap)]

mod bundles;
mod certificates;
mod cli;
mod keys;
mod registry;
mod support;
mod tlog;
