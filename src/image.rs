//! Container image references: parsing and normalisation (placeholder, being written).
