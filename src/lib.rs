//! syncgate: the last gate between "rendered" and "applied" in GitOps.
//!
//! A stream of rendered Kubernetes manifests goes in; either the same stream comes out (images pinned to
//! the digests that were verified), or a denial that names the rule, the resource and the fix.
//!
//! Newcomers are recommended to start with [`pipeline::gate`], which reads like the data flow:
//! [`manifest::visit`] → image sites → [`registry`] resolution → [`policy::evaluate()`] → modes and
//! exceptions ([`policy::decide()`]) → [`report::Report`] → images pinned.

pub mod argocd;
pub mod cache;
pub mod cli;
pub mod config;
pub mod flux;
pub mod gate;
pub mod image;
pub mod krm;
pub mod manifest;
pub mod pipeline;
pub mod policy;
pub mod project;
pub mod registry;
pub mod render;
pub mod report;
pub mod server;
pub mod testcase;
pub mod verify;
