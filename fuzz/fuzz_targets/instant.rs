//! Any text as an RFC 3339 instant: no panic; what parses formats and parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(t) = tokbal::time::parse_rfc3339("at", text) {
        let shown = tokbal::time::format_rfc3339(t);
        let again = tokbal::time::parse_rfc3339("at", &shown).expect("formatted instant parses");
        assert_eq!(again, t);
    }
});
