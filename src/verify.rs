//! Signatures and provenance of images: keys, certificates, trust roots, and the pure matching of
//! what a signature or attestation says against what an `ImagePolicy` requires.
//!
//! [`require`] is pure (no I/O, no cryptography): it compares already verified facts with policy
//! requirements and explains every difference.

pub mod certificate;
pub mod discover;
pub mod key;
pub mod require;
pub mod trust;
