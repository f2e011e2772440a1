//! Pod Security Standards checks (placeholder, being written).
