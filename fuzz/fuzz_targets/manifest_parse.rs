//! Fuzz target for manifest parsing: arbitrary text never panics the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let _ = syncgate::manifest::parse_str(input, &syncgate::manifest::Limits::default());
});
