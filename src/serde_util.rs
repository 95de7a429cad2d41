//! Serialization helpers shared by the output types: chain integers are written as decimal
//! strings, so that no JSON reader rounds them.

use serde::Serializer;

/// Writes `Some(u64)` as a decimal string (callers skip `None`).
pub(crate) fn opt_u64_string<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}
