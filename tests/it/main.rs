//! The offline integration tests: the `syncgate` binary end to end (one test binary, one module per
//! subcommand). Nothing here needs a network or a service.

mod argocd_example;
mod cache;
mod check;
mod common;
mod generate;
mod pin;
mod plugin_manifests;
mod registry;
mod signatures;
mod support;
mod test_command;
