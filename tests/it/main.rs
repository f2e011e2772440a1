//! The offline integration tests: the `syncgate` binary end to end (one test binary, one module per
//! subcommand). Nothing here needs a network or a service.

mod cache;
mod check;
mod common;
mod pin;
mod registry;
mod serve;
mod signatures;
mod support;
mod test_command;
