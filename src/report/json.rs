//! JSON writer (placeholder, being written).
use super::Report;
/// Placeholder.
pub fn write_json(_r: &Report, _o: &mut dyn std::io::Write) -> std::io::Result<()> { Ok(()) }
