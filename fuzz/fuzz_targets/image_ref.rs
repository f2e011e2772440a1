//! Fuzz target for image references: parsing never panics, and the normalised form round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncgate::image::{Digest, ImageRef};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(digest) = input.parse::<Digest>() {
        assert_eq!(digest.to_string(), input, "a digest displays as written");
    }
    let Ok(image) = input.parse::<ImageRef>() else {
        return;
    };
    let normalised = image.to_string();
    let reparsed: ImageRef = match normalised.parse() {
        Ok(reparsed) => reparsed,
        Err(error) => {
            panic!("{input:?} parsed, but its normal form {normalised:?} did not: {error}")
        }
    };
    assert_eq!(reparsed, image, "{input:?} -> {normalised:?}");
    assert_eq!(
        reparsed.to_string(),
        normalised,
        "{input:?}: normal form is not stable"
    );
    assert_eq!(
        image.name(),
        format!("{}/{}", image.registry(), image.repository())
    );
    assert!(
        image.repository().len() <= 255,
        "{input:?}: repository too long"
    );
    assert!(
        image.tag().is_none_or(|tag| tag.len() <= 128),
        "{input:?}: tag too long"
    );
});
