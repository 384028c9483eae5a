//! Money as integer minor units (kopecks); decimal strings at the edges.

use std::fmt;

use crate::values::ValueError;

/// An amount in minor units of its currency (kopecks for RUB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(pub i64);

impl Money {
    /// The largest amount accepted: a trillion roubles leaves room for any sum of lines.
    pub const MAX: i64 = 100_000_000_000_000;

    /// Parses `"1234.5"`, `"1234.50"`, `"1234"`; refuses more than two decimals,
    /// signs other than a leading minus, exponents and separators.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let bad =
            || ValueError::new("invalid_amount", format!("{raw:?} is not an amount such as \"1234.50\""));
        let s = raw.trim();
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, frac) = match digits.split_once('.') {
            Some((w, f)) => (w, f),
            None => (digits, ""),
        };
        if whole.is_empty() || whole.len() > 15 || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if frac.len() > 2
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (digits.contains('.') && frac.is_empty())
        {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().map_err(|_| bad())? };
        let minor = whole.checked_mul(100).and_then(|w| w.checked_add(frac)).ok_or_else(bad)?;
        if minor > Self::MAX {
            return Err(ValueError::new("too_large", "the amount is too large"));
        }
        Ok(Money(if negative { -minor } else { minor }))
    }

    pub fn minor(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_to_kopecks_and_print_back() {
        assert_eq!(Money::parse("1234.5").unwrap(), Money(123_450));
        assert_eq!(Money::parse("1234.50").unwrap().to_string(), "1234.50");
        assert_eq!(Money::parse("0").unwrap().to_string(), "0.00");
        assert_eq!(Money::parse("-0.05").unwrap(), Money(-5));
        assert_eq!(Money(-5).to_string(), "-0.05");
    }

    #[test]
    fn malformed_amounts_are_refused() {
        for raw in ["", "1.234", "1,5", "1e3", "+5", "abc", "1.", ".5", "--1", "1 000"] {
            assert!(Money::parse(raw).is_err(), "{raw:?} accepted");
        }
        assert_eq!(Money::parse("99999999999999").unwrap_err().code, "too_large");
    }
}
