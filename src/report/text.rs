//! Text writer (placeholder, being written).
use super::Report;
/// Placeholder.
pub fn write_text(_r: &Report, _o: &mut dyn std::io::Write, _c: bool) -> std::io::Result<()> { Ok(()) }
