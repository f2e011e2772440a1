//! Policies (stub).
pub mod pss;
