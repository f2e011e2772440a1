//! Signatures and provenance: which signing material is stored next to a pinned image, and whether it
//! proves what the image's `ImagePolicy` demands, verified against the digest the registry step pinned.

pub mod discover;
