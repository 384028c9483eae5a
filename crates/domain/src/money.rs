//! Money as integer minor units (kopecks); decimal strings at the edges.

use std::fmt;

use crate::values::ValueError;

/// An amount in minor units of its currency (kopecks for RUB).
///
/// The field is private and there is no `+`: amounts combine only through
/// the checked operations below, which refuse to leave ±[`Money::MAX`], so an
/// overflowing sum cannot be written (it once wrapped a quote to `-0.02`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// A sum or product that would leave the range amounts may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the amount would exceed {} (the largest amount a price, line, document or sum may hold)",
    Money(Money::MAX)
)]
pub struct TooLarge;

impl Money {
    /// The largest amount anything may hold — a unit price, a line, a
    /// document's total, a payment, a sum of them: 1 000 000 000 000.00 (a
    /// trillion roubles), far inside `i64`, so no check has to be exact at
    /// the edge of the machine's range.
    pub const MAX: i64 = 100_000_000_000_000;
    pub const ZERO: Money = Money(0);

    /// An amount read back from storage, where only checked amounts were written.
    pub const fn from_minor(minor: i64) -> Self {
        Money(minor)
    }

    /// An amount computed in wider arithmetic, if it is within ±`MAX`.
    pub fn try_from_minor(minor: i128) -> Result<Self, TooLarge> {
        i64::try_from(minor).ok().filter(|m| m.abs() <= Self::MAX).map(Money).ok_or(TooLarge)
    }

    pub fn checked_add(self, other: Money) -> Result<Money, TooLarge> {
        Self::try_from_minor(i128::from(self.0) + i128::from(other.0))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, TooLarge> {
        Self::try_from_minor(i128::from(self.0) - i128::from(other.0))
    }

    /// The sum of amounts, refused as a whole when any partial sum leaves the range.
    pub fn checked_sum(items: impl IntoIterator<Item = Money>) -> Result<Money, TooLarge> {
        items.into_iter().try_fold(Money::ZERO, Money::checked_add)
    }

    /// Parses `"1234.5"`, `"1234.50"`, `"1234"`; refuses more than two decimals,
    /// signs other than a leading minus, exponents and separators.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let bad =
            || ValueError::new("invalid_amount", format!("{raw:?} is not an amount such as \"1234.50\""));
        // Exactly the digits: " 1" is what a sloppy client sends, not an amount.
        let s = raw;
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

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&Total(i128::from(self.0)), f)
    }
}

/// A sum over many records for reading only (a board column, a report):
/// `i128`, so no count of rows at `Money::MAX` can overflow it, and it never
/// flows back into a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Total(pub i128);

impl fmt::Display for Total {
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
        assert_eq!(Money::parse("1234.5").unwrap(), Money::from_minor(123_450));
        assert_eq!(Money::parse("1234.50").unwrap().to_string(), "1234.50");
        assert_eq!(Money::parse("0").unwrap().to_string(), "0.00");
        assert_eq!(Money::parse("-0.05").unwrap(), Money::from_minor(-5));
        assert_eq!(Money::from_minor(-5).to_string(), "-0.05");
    }

    #[test]
    fn malformed_amounts_are_refused() {
        for raw in ["", "1.234", "1,5", "1e3", "+5", "abc", "1.", ".5", "--1", "1 000", " 1", "1 ", "\t5"] {
            assert!(Money::parse(raw).is_err(), "{raw:?} accepted");
        }
        assert_eq!(Money::parse("99999999999999").unwrap_err().code, "too_large");
    }

    #[test]
    fn sums_refuse_to_leave_the_range_instead_of_wrapping() {
        let max = Money::from_minor(Money::MAX);
        assert_eq!(max.checked_add(Money::from_minor(1)), Err(TooLarge));
        assert_eq!(Money::from_minor(-Money::MAX).checked_sub(Money::from_minor(1)), Err(TooLarge));
        assert_eq!(Money::checked_sum([max, Money::from_minor(-1)]), Ok(Money::from_minor(Money::MAX - 1)));
        assert_eq!(Money::checked_sum([max, max, Money::from_minor(-Money::MAX)]), Err(TooLarge));
        assert_eq!(Money::try_from_minor(i128::from(i64::MAX) + 1), Err(TooLarge));
        assert_eq!(Money::checked_sum([]), Ok(Money::ZERO));
    }
}

#[cfg(test)]
mod edge_tests {
    use super::*;

    #[test]
    fn amounts_have_at_most_fifteen_whole_digits_and_reach_the_maximum_exactly() {
        assert_eq!(Money::parse(&"9".repeat(15)).unwrap_err().code, "too_large");
        assert_eq!(Money::parse(&"9".repeat(16)).unwrap_err().code, "invalid_amount");
        assert_eq!(Money::parse(&"1".repeat(17)).unwrap_err().code, "invalid_amount");
        assert_eq!(Money::parse("1000000000000.00").unwrap().minor(), Money::MAX);
        assert_eq!(Money::parse("1000000000000.01").unwrap_err().code, "too_large");
    }

    #[test]
    fn negative_is_below_zero_only() {
        assert!(Money::from_minor(-1).is_negative());
        assert!(!Money::ZERO.is_negative());
        assert!(!Money::from_minor(1).is_negative());
    }
}
