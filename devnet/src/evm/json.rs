//! JSON text for the node's answers, byte for byte what `serde_json` writes, without its
//! escape scan over long strings that need none.
//!
//! An `aggregate3` answer or request is tens of kilobytes of hex in one string, and
//! `serde_json` looks up every byte of a string in its escape table one at a time. Here a
//! string is first checked for the three things JSON escapes (a quote, a backslash, a control
//! character) in whole chunks, which the compiler vectorizes; a string with none of them is
//! copied as it is, any other is written by `serde_json`.

use std::io::{self, Write};

use serde_json::Value;

/// `value` as compact JSON text.
pub(super) fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint(value));
    // Writing into a `Vec` cannot fail.
    let _ = write(&mut out, value);
    out
}

/// Writes `value` as compact JSON text.
pub(super) fn write<W: Write>(w: &mut W, value: &Value) -> io::Result<()> {
    match value {
        Value::String(s) => write_str(w, s),
        Value::Array(items) => {
            w.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    w.write_all(b",")?;
                }
                write(w, item)?;
            }
            w.write_all(b"]")
        }
        Value::Object(members) => {
            w.write_all(b"{")?;
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    w.write_all(b",")?;
                }
                write_str(w, key)?;
                w.write_all(b":")?;
                write(w, item)?;
            }
            w.write_all(b"}")
        }
        scalar => serde_json::to_writer(w, scalar).map_err(io::Error::from),
    }
}

/// About how long `value`'s text is (exactly, when its strings need no escapes and its
/// numbers are short), so that the buffer is allocated once.
fn size_hint(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(|v| size_hint(v) + 1).sum::<usize>(),
        Value::Object(members) => {
            2 + members
                .iter()
                .map(|(k, v)| k.len() + 4 + size_hint(v))
                .sum::<usize>()
        }
        _ => 8,
    }
}

fn write_str<W: Write>(w: &mut W, s: &str) -> io::Result<()> {
    if needs_no_escape(s.as_bytes()) {
        w.write_all(b"\"")?;
        w.write_all(s.as_bytes())?;
        w.write_all(b"\"")
    } else {
        serde_json::to_writer(w, s).map_err(io::Error::from)
    }
}

/// Whether no byte of `bytes` is one JSON escapes inside a string.
fn needs_no_escape(bytes: &[u8]) -> bool {
    // Each chunk is folded without an early exit, so that the loop vectorizes.
    bytes.chunks(64).all(|chunk| {
        chunk
            .iter()
            .fold(true, |ok, &b| ok & (b >= 0x20) & (b != b'"') & (b != b'\\'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn writes_what_serde_writes() {
        let values = [
            json!(null),
            json!({"jsonrpc": "2.0", "id": 7, "result": format!("0x{}", "ab".repeat(5_000))}),
            json!({"error": {"code": -32000, "message": "quote \" backslash \\ tab \t nul \u{0} é 😀", "data": [1.5, true, null, {}]}}),
            json!([[], {"a": [-1, 18446744073709551615u64, 0.1]}, "\u{1f}", "\u{7f}"]),
        ];
        for v in values {
            assert_eq!(String::from_utf8(to_vec(&v)).unwrap(), v.to_string());
        }
    }

    proptest! {
        #[test]
        fn any_string_is_written_as_serde_writes_it(s in any::<String>(), n in 0usize..200) {
            let long = s.repeat(n % 7 + 1) + &"0".repeat(n);
            let v = json!({"k": [s, long]});
            prop_assert_eq!(String::from_utf8(to_vec(&v)).unwrap(), v.to_string());
        }
    }
}
