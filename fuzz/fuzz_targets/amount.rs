//! Any text as an amount: no panic; what parses prints back as the same digits (minus leading
//! zeros).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokbal::Amount;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(a) = text.parse::<Amount>() {
        let trimmed = text.trim_start_matches('0');
        let expected = if trimmed.is_empty() { "0" } else { trimmed };
        assert_eq!(a.to_string(), expected);
    }
});
