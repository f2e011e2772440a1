//! Registry resolution against a real registry (being written).
