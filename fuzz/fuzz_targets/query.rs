//! Any text as a query: no panic; an error names a field and stays short; an accepted query's
//! canonical form parses back to the same query.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokbal::{ErrorKind, Query};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match text.parse::<Query>() {
        Ok(q) => {
            let again: Query = q.to_string().parse().expect("canonical form parses");
            assert_eq!(again, q);
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
            assert!(e.field().is_some());
            assert!(e.to_string().len() < 1024, "message echoes too much");
        }
    }
});
