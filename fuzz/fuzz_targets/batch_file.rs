//! Any bytes as a batch file: no panic; line numbers increase; every item is a query or an
//! `invalid_input` refusal; no more items than lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokbal::query::QueryLines;
use tokbal::ErrorKind;

fuzz_target!(|data: &[u8]| {
    let lines = data.iter().filter(|b| **b == b'\n').count() + 1;
    let mut last = 0;
    let mut items = 0;
    for ((line, _text), parsed) in QueryLines::new(data) {
        assert!(line > last);
        last = line;
        items += 1;
        if let Err(e) = parsed {
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }
    }
    assert!(items <= lines);
});
