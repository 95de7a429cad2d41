//! Any bytes as a node's balance body: decoding never panics, and accepts only an unsigned
//! 64-bit integer (a JSON number or a decimal string).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokbal::aptos::wire::U64;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<U64>(data) {
        let text = std::str::from_utf8(data).expect("accepted bodies are text").trim();
        let digits = text.trim_matches('"');
        assert_eq!(digits.parse::<u64>().ok(), Some(v.0));
    }
});
