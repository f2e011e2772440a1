//! The offline integration tests: the `syncgate` binary end to end (one test binary, one module per
//! subcommand). Nothing here needs a network or a service.

mod check;
mod common;
mod test_command;
