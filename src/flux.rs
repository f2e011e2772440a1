//! Flux ExternalArtifact producer building blocks: Flux's artifact format ([`artifact`]), the
//! storage directory with retention and start-up re-verification ([`storage`]), fetching an
//! upstream source-controller artifact ([`fetch`]) and the plain HTTP artifact server ([`serve`]).
//!
//! Nothing here talks to the Kubernetes API; the reconciler that wires these pieces to
//! `VerifiedSource` and `ExternalArtifact` objects lives elsewhere.

pub mod artifact;
pub mod controller;
pub mod duration;
pub mod fetch;
pub mod lease;
pub mod reconcile;
pub mod serve;
pub mod source;
pub mod status;
pub mod storage;
