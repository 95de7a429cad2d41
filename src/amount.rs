//! [`Amount`]: a token balance in the token's smallest unit, up to 2^256 - 1.

use std::fmt;
use std::str::FromStr;

use ruint::aliases::U256;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// A balance in the token's smallest unit (octas, satoshis, wei, ...), exact up to 2^256 - 1.
///
/// Never a float: ERC-20 balances routinely exceed `u64` and even `u128`. Written in JSON as
/// a decimal string, so that no reader rounds it.
///
/// ```
/// use tokbal::Amount;
/// let max: Amount = "115792089237316195423570985008687907853269984665640564039457584007913129639935"
///     .parse()
///     .unwrap();
/// assert_eq!(max, Amount::MAX);
/// assert_eq!(Amount::from(42u64).to_string(), "42");
/// assert_eq!(serde_json::to_string(&Amount::from(7u64)).unwrap(), "\"7\"");
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(U256);

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(U256::ZERO);
    /// The largest amount, 2^256 - 1.
    pub const MAX: Amount = Amount(U256::MAX);

    /// The amount as a 256-bit unsigned integer.
    pub fn as_u256(&self) -> U256 {
        self.0
    }

    /// The amount as a `u128`, when it fits.
    pub fn to_u128(&self) -> Option<u128> {
        u128::try_from(self.0).ok()
    }

    /// The amount in whole tokens of `decimals` decimal places: `self / 10^decimals` as an
    /// exact decimal string, with no exponent, no trailing zeros and no trailing point
    /// (`"0"` for zero). Exact for every amount and every `decimals` from 0 to 255.
    ///
    /// ```
    /// use tokbal::Amount;
    /// assert_eq!(Amount::from(1_500_000u64).format_units(6), "1.5");
    /// assert_eq!(Amount::from(1u64).format_units(18), "0.000000000000000001");
    /// assert_eq!(Amount::from(4_200u64).format_units(2), "42");
    /// assert_eq!(Amount::ZERO.format_units(8), "0");
    /// ```
    pub fn format_units(&self, decimals: u8) -> String {
        let digits = self.0.to_string();
        let decimals = usize::from(decimals);
        if decimals == 0 {
            return digits;
        }
        let (whole, fraction) = if digits.len() > decimals {
            let (w, f) = digits.split_at(digits.len() - decimals);
            (w.to_string(), f.to_string())
        } else {
            ("0".to_string(), format!("{digits:0>decimals$}"))
        };
        let fraction = fraction.trim_end_matches('0');
        if fraction.is_empty() {
            whole
        } else {
            format!("{whole}.{fraction}")
        }
    }

    /// The amount as a `u64`, when it fits.
    pub fn to_u64(&self) -> Option<u64> {
        u64::try_from(self.0).ok()
    }
}

impl From<U256> for Amount {
    fn from(v: U256) -> Self {
        Amount(v)
    }
}

impl From<u64> for Amount {
    fn from(v: u64) -> Self {
        Amount(U256::from(v))
    }
}

impl From<u128> for Amount {
    fn from(v: u128) -> Self {
        Amount(U256::from(v))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({})", self.0)
    }
}

impl FromStr for Amount {
    type Err = Error;

    /// Parses a plain decimal string: digits only, no sign, no exponent, no separators.
    fn from_str(s: &str) -> Result<Self, Error> {
        if s.is_empty() {
            return Err(Error::invalid_input("amount", s, "empty"));
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid_input(
                "amount",
                s,
                "only decimal digits are allowed",
            ));
        }
        U256::from_str_radix(s, 10)
            .map(Amount)
            .map_err(|_| Error::invalid_input("amount", s, "larger than 2^256 - 1"))
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_the_full_range() {
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(max.parse::<Amount>().unwrap().to_string(), max);
        assert_eq!("0".parse::<Amount>().unwrap(), Amount::ZERO);
        let above_u128 = "340282366920938463463374607431768211456";
        let a: Amount = above_u128.parse().unwrap();
        assert_eq!(a.to_u128(), None);
        assert_eq!(a.to_string(), above_u128);
    }

    #[test]
    fn rejects_what_is_not_a_plain_decimal() {
        let over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        for bad in ["", "-1", "1.5", "1e3", " 1", "0x10", "１", over] {
            let err = bad.parse::<Amount>().unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidInput, "{bad}");
            assert_eq!(err.field(), Some("amount"));
        }
    }

    /// `amount / 10^decimals` by integer division and remainder: another way to the same
    /// digits than the string cut `format_units` makes.
    fn by_division(amount: U256, decimals: u8) -> String {
        let d = usize::from(decimals);
        let (whole, fraction) = if d <= 77 {
            let unit = U256::from(10u8).pow(U256::from(d));
            (amount / unit, amount % unit)
        } else {
            // 10^78 exceeds 2^256: every amount is below one whole token.
            (U256::ZERO, amount)
        };
        let fraction = format!("{fraction:0>d$}");
        let fraction = fraction.trim_end_matches('0');
        if fraction.is_empty() {
            whole.to_string()
        } else {
            format!("{whole}.{fraction}")
        }
    }

    proptest::proptest! {
        #[test]
        fn format_units_is_exact(limbs in proptest::array::uniform4(proptest::prelude::any::<u64>()), shift in 0usize..256, decimals in proptest::prelude::any::<u8>()) {
            // Amounts of every size: a random 256-bit value shifted right.
            let amount = U256::from_limbs(limbs) >> shift;
            let text = Amount(amount).format_units(decimals);
            proptest::prop_assert_eq!(&text, &by_division(amount, decimals));
            proptest::prop_assert!(!text.contains(['e', 'E', '-', '+']));
            proptest::prop_assert!(!text.ends_with('.'));
            if text.contains('.') {
                proptest::prop_assert!(!text.ends_with('0'));
            }
            proptest::prop_assert!(text == "0" || !text.starts_with("00"));
            // Back to base units: the digits, the point moved right by `decimals`.
            let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
            let back = format!("{whole}{fraction:0<width$}", width = usize::from(decimals));
            let back = back.trim_start_matches('0');
            proptest::prop_assert_eq!(if back.is_empty() { "0" } else { back }, amount.to_string());
        }
    }

    #[test]
    fn format_units_edges() {
        assert_eq!(Amount::ZERO.format_units(0), "0");
        assert_eq!(Amount::ZERO.format_units(255), "0");
        assert_eq!(Amount::from(10u64).format_units(1), "1");
        assert_eq!(Amount::from(100_000_000u64).format_units(8), "1");
        assert_eq!(Amount::from(123u64).format_units(5), "0.00123");
        assert_eq!(
            Amount::MAX.format_units(0),
            "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        );
        assert_eq!(
            Amount::MAX.format_units(18),
            "115792089237316195423570985008687907853269984665640564039457.584007913129639935"
        );
        let tiny = Amount::from(1u64).format_units(255);
        assert_eq!(tiny.len(), 2 + 255);
        assert!(tiny.starts_with("0.000") && tiny.ends_with('1'));
    }

    #[test]
    fn json_round_trip_is_a_string() {
        let a = Amount::from(u128::MAX);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, format!("\"{}\"", u128::MAX));
        assert_eq!(serde_json::from_str::<Amount>(&json).unwrap(), a);
        assert!(serde_json::from_str::<Amount>("12").is_err());
    }
}
