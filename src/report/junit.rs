//! JUnit writer (placeholder, being written).
use super::Report;
/// Placeholder.
pub fn write_junit(_r: &Report, _o: &mut dyn std::io::Write) -> std::io::Result<()> { Ok(()) }
