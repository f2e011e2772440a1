//! The integration tests: the `syncgate` binary end to end (one test binary, one module per
//! subcommand or integration), against real registries, Redis and processes started per test.

mod argocd_example;
mod cache;
mod check;
mod ci_recipes;
mod common;
mod flux_artifact;
mod flux_controller;
mod flux_manifests;
mod generate;
mod helm;
mod krm;
mod kube_fake;
mod pin;
mod plugin_manifests;
mod project;
mod registry;
mod serve;
mod signatures;
mod support;
mod test_command;
