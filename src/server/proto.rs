//! Code generated from `proto/` by `build.rs`: Argo CD's Config Management Plugin service (packages
//! `plugin` and `repository`) and syncgate's own API (`syncgate.v1`). Nothing here is written by hand.

#![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]

/// Argo CD's `plugin` package: the CMP service and its messages.
pub mod plugin {
    tonic::include_proto!("plugin");
}

/// Argo CD's `repository` package, trimmed to `ParameterAnnouncement`.
pub mod repository {
    tonic::include_proto!("repository");
}

/// syncgate's versioned API.
pub mod syncgate {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("syncgate.v1");
    }
}
