//! Hand-written wire types that the generated client uses in place of its own.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An unsigned 64-bit integer as the Aptos node writes it.
///
/// The node writes most u64 values as decimal strings (`"123"`), but the balance endpoint
/// answers with a bare JSON number (`123`). This type reads both, rejects negatives,
/// fractions and values above `u64::MAX`, and always writes the string form.
///
/// ```
/// use tokbal::aptos::wire::U64;
/// let a: U64 = serde_json::from_str("\"18446744073709551615\"").unwrap();
/// let b: U64 = serde_json::from_str("42").unwrap();
/// assert_eq!((a.0, b.0), (u64::MAX, 42));
/// assert!(serde_json::from_str::<U64>("-1").is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct U64(pub u64);

impl fmt::Display for U64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for U64 {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(U64)
    }
}

impl From<u64> for U64 {
    fn from(v: u64) -> Self {
        U64(v)
    }
}

impl From<U64> for u64 {
    fn from(v: U64) -> Self {
        v.0
    }
}

impl Serialize for U64 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for U64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct U64Visitor;

        impl Visitor<'_> for U64Visitor {
            type Value = U64;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an unsigned 64-bit integer, as a JSON number or a decimal string")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<U64, E> {
                Ok(U64(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<U64, E> {
                u64::try_from(v)
                    .map(U64)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }

            fn visit_u128<E: de::Error>(self, v: u128) -> Result<U64, E> {
                u64::try_from(v)
                    .map(U64)
                    .map_err(|_| E::custom(format!("{v} is larger than the largest u64")))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<U64, E> {
                Err(E::invalid_value(de::Unexpected::Float(v), &self))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<U64, E> {
                // Only plain decimal digits: no sign, no spaces, no exponent.
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(E::invalid_value(de::Unexpected::Str(v), &self));
                }
                v.parse()
                    .map(U64)
                    .map_err(|_| E::custom(format!("\"{v}\" is larger than the largest u64")))
            }
        }

        deserializer.deserialize_any(U64Visitor)
    }
}
