//! Exact prices: quantities in thousandths, money in kopecks, VAT rates in
//! hundredths of a percent. Each line rounds to kopecks half away from zero;
//! totals are sums of rounded lines, as Russian invoices do.

use std::fmt;

use crate::money::{Money, TooLarge};
use crate::values::ValueError;

/// A quantity in thousandths of a unit (`1.5` kg = 1500).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity(pub i64);

impl Quantity {
    pub const MAX: i64 = 1_000_000_000_000;

    /// Parses `"3"`, `"1.5"`, `"0.125"`: at most three decimals, positive.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let bad =
            || ValueError::new("invalid_quantity", format!("{raw:?} is not a quantity such as \"1.5\""));
        // Exactly the digits: surrounding spaces are refused, not trimmed.
        let s = raw;
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if whole.is_empty() || whole.len() > 12 || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) || (s.contains('.') && frac.is_empty())
        {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<3}").parse().map_err(|_| bad())? };
        let q = whole.checked_mul(1000).and_then(|w| w.checked_add(frac)).ok_or_else(bad)?;
        if q == 0 {
            return Err(ValueError::new("zero_quantity", "the quantity must be more than zero"));
        }
        if q > Self::MAX {
            return Err(ValueError::new("too_large", "the quantity is too large"));
        }
        Ok(Self(q))
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (w, r) = (self.0 / 1000, self.0 % 1000);
        if r == 0 {
            write!(f, "{w}")
        } else {
            let frac = format!("{r:03}");
            write!(f, "{w}.{}", frac.trim_end_matches('0'))
        }
    }
}

/// A VAT rate: a percentage in hundredths (22% = 2200), or "without VAT".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VatRate {
    Without,
    Percent(u32),
}

impl VatRate {
    /// `"22"`, `"10"`, `"0"`, `"7.5"` or `"without"`.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim().trim_end_matches('%');
        if s.eq_ignore_ascii_case("without") {
            return Ok(VatRate::Without);
        }
        let bad = || {
            ValueError::new(
                "invalid_vat_rate",
                format!("{raw:?} is not a VAT rate such as \"22\" or \"without\""),
            )
        };
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if whole.is_empty()
            || whole.len() > 2
            || frac.len() > 2
            || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let bp = whole.parse::<u32>().map_err(|_| bad())? * 100
            + if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse::<u32>().map_err(|_| bad())? };
        Ok(VatRate::Percent(bp))
    }

    fn basis_points(self) -> i128 {
        match self {
            VatRate::Without => 0,
            VatRate::Percent(bp) => i128::from(bp),
        }
    }
}

impl fmt::Display for VatRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VatRate::Without => f.write_str("without"),
            VatRate::Percent(bp) if bp % 100 == 0 => write!(f, "{}", bp / 100),
            VatRate::Percent(bp) => {
                let frac = format!("{:02}", bp % 100);
                write!(f, "{}.{}", bp / 100, frac.trim_end_matches('0'))
            }
        }
    }
}

/// A percentage from 0 to 100 with up to two decimals (`"12.5"`, `"100"`),
/// in hundredths of a percent.
pub fn parse_percent(raw: &str) -> Result<u32, ValueError> {
    let s = raw.trim().trim_end_matches('%');
    let bad = || ValueError::new("invalid_percent", format!("{raw:?} is not a percentage from 0 to 100"));
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || whole.len() > 3
        || frac.len() > 2
        || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let bp = whole.parse::<u32>().map_err(|_| bad())? * 100
        + if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse::<u32>().map_err(|_| bad())? };
    if bp > 10_000 {
        return Err(bad());
    }
    Ok(bp)
}

/// `n / d` rounded half away from zero (`d > 0`).
pub fn div_round(n: i128, d: i128) -> i128 {
    let (q, r) = (n / d, n % d);
    if 2 * r.abs() >= d {
        q + n.signum()
    } else {
        q
    }
}

/// One priced line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub unit_price: Money,
    pub quantity: Quantity,
    /// Discount in hundredths of a percent (5% = 500).
    pub discount_bp: u32,
    pub vat: VatRate,
    /// Whether `unit_price` already includes VAT.
    pub price_includes_vat: bool,
}

/// A line's amounts, each rounded to kopecks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineAmounts {
    pub net: Money,
    pub vat: Money,
    pub total: Money,
}

impl Line {
    /// The line's amounts, or `TooLarge` when its total would pass `Money::MAX`
    /// (the largest unit price times the largest quantity does: the product is
    /// taken in `i128`, where it always fits, and refused, never clamped).
    pub fn amounts(&self) -> Result<LineAmounts, TooLarge> {
        let gross = div_round(i128::from(self.unit_price.minor()) * i128::from(self.quantity.0), 1000);
        let discounted = div_round(gross * (10_000 - i128::from(self.discount_bp.min(10_000))), 10_000);
        let rate = self.vat.basis_points();
        let (net, vat) = if self.price_includes_vat {
            let vat = div_round(discounted * rate, 10_000 + rate);
            (discounted - vat, vat)
        } else {
            (discounted, div_round(discounted * rate, 10_000))
        };
        Ok(LineAmounts {
            net: Money::try_from_minor(net)?,
            vat: Money::try_from_minor(vat)?,
            total: Money::try_from_minor(net + vat)?,
        })
    }
}

impl LineAmounts {
    /// These amounts plus another line's, refused when a sum passes `Money::MAX`.
    pub fn checked_add(self, other: LineAmounts) -> Result<LineAmounts, TooLarge> {
        Ok(LineAmounts {
            net: self.net.checked_add(other.net)?,
            vat: self.vat.checked_add(other.vat)?,
            total: self.total.checked_add(other.total)?,
        })
    }
}

/// Totals of a document: sums of its rounded lines, or `TooLarge`.
pub fn totals<'a>(lines: impl IntoIterator<Item = &'a Line>) -> Result<LineAmounts, TooLarge> {
    lines.into_iter().try_fold(LineAmounts::default(), |acc, l| acc.checked_add(l.amounts()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_run_from_zero_to_a_hundred() {
        assert_eq!(parse_percent("100"), Ok(10_000));
        assert_eq!(parse_percent("33.33"), Ok(3_333));
        assert_eq!(parse_percent("12.5%"), Ok(1_250));
        assert_eq!(parse_percent("0"), Ok(0));
        for bad in ["100.01", "101", "-5", "", "1.234", "abc", "1000"] {
            assert!(parse_percent(bad).is_err(), "{bad}");
        }
    }

    fn line(price: &str, qty: &str, discount_bp: u32, vat: &str, includes: bool) -> LineAmounts {
        Line {
            unit_price: Money::parse(price).unwrap(),
            quantity: Quantity::parse(qty).unwrap(),
            discount_bp,
            vat: VatRate::parse(vat).unwrap(),
            price_includes_vat: includes,
        }
        .amounts()
        .unwrap()
    }

    fn m(minor: i64) -> Money {
        Money::from_minor(minor)
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(div_round(5, 10), 1);
        assert_eq!(div_round(4, 10), 0);
        assert_eq!(div_round(-5, 10), -1);
        assert_eq!(div_round(-4, 10), 0);
        assert_eq!(div_round(15, 10), 2);
    }

    #[test]
    fn vat_on_top_of_the_price() {
        // 3 × 33.33 = 99.99; 22% of it = 21.9978 → 22.00.
        let a = line("33.33", "3", 0, "22", false);
        assert_eq!((a.net, a.vat, a.total), (m(9_999), m(2_200), m(12_199)));
    }

    #[test]
    fn vat_inside_the_price() {
        // 122.00 with 22% inside: VAT 22.00, net 100.00.
        let a = line("122", "1", 0, "22", true);
        assert_eq!((a.net, a.vat, a.total), (m(10_000), m(2_200), m(12_200)));
        // 100.00 with 10% inside: VAT 9.0909… → 9.09.
        let b = line("100", "1", 0, "10", true);
        assert_eq!((b.net, b.vat, b.total), (m(9_091), m(909), m(10_000)));
    }

    #[test]
    fn fractional_quantities_and_discounts_round_per_line() {
        // 1.5 kg × 0.05 = 0.075 → 0.08; the half kopeck rounds up.
        assert_eq!(line("0.05", "1.5", 0, "without", false).total, m(8));
        // 19.99 × 7 = 139.93, 5% off = 132.9335 → 132.93.
        assert_eq!(line("19.99", "7", 500, "0", false).total, m(13_293));
        // Totals are sums of rounded lines, not rounded sums.
        let l = Line {
            unit_price: m(5),
            quantity: Quantity(500),
            discount_bp: 0,
            vat: VatRate::Without,
            price_includes_vat: false,
        };
        assert_eq!(l.amounts().unwrap().total, m(3)); // 2.5 kopecks → 3
        assert_eq!(totals(&[l, l]).unwrap().total, m(6));
    }

    #[test]
    fn the_largest_price_times_the_largest_quantity_is_refused_not_clamped() {
        let huge = Line {
            unit_price: Money::parse("100000000000").unwrap(),
            quantity: Quantity::parse("1000000").unwrap(),
            discount_bp: 0,
            vat: VatRate::Without,
            price_includes_vat: false,
        };
        assert_eq!(huge.amounts(), Err(TooLarge));
        let half =
            Line { unit_price: Money::from_minor(Money::MAX / 2 + 1), quantity: Quantity(1000), ..huge };
        assert!(half.amounts().is_ok());
        assert_eq!(totals(&[half, half]), Err(TooLarge), "two lines that fit alone do not fit together");
        let max = Line { unit_price: Money::from_minor(Money::MAX), quantity: Quantity(1000), ..huge };
        assert_eq!(max.amounts().unwrap().total, Money::from_minor(Money::MAX));
    }

    #[test]
    fn rates_and_quantities_parse_strictly() {
        assert_eq!(VatRate::parse("22%").unwrap(), VatRate::Percent(2200));
        assert_eq!(VatRate::parse("without").unwrap().to_string(), "without");
        assert_eq!(VatRate::parse("7.5").unwrap().to_string(), "7.5");
        assert!(VatRate::parse("220").is_err());
        assert!(VatRate::parse("abc").is_err());
        assert_eq!(Quantity::parse("1.5").unwrap().to_string(), "1.5");
        assert_eq!(Quantity::parse("0.125").unwrap(), Quantity(125));
        assert_eq!(Quantity::parse("0").unwrap_err().code, "zero_quantity");
        assert!(Quantity::parse("1.2345").is_err());
        assert!(Quantity::parse("-1").is_err());
        assert!(Quantity::parse(" 1").is_err() && Quantity::parse("1 ").is_err());
    }
}

#[cfg(test)]
mod edge_tests {
    use super::*;

    #[test]
    fn quantities_have_at_most_twelve_whole_digits_and_reach_the_maximum_exactly() {
        assert_eq!(Quantity::parse(&"9".repeat(12)).unwrap_err().code, "too_large");
        assert_eq!(Quantity::parse(&"9".repeat(13)).unwrap_err().code, "invalid_quantity");
        assert_eq!(Quantity::parse(&"1".repeat(14)).unwrap_err().code, "invalid_quantity");
        assert_eq!(Quantity::parse("1000000000").unwrap().0, Quantity::MAX);
        assert_eq!(Quantity::parse("1000000000.001").unwrap_err().code, "too_large");
        assert_eq!(Quantity::parse("1.").unwrap_err().code, "invalid_quantity");
        assert_eq!(Quantity::parse("1.5x").unwrap_err().code, "invalid_quantity");
        assert_eq!(Quantity::parse("1.1234").unwrap_err().code, "invalid_quantity");
    }

    #[test]
    fn vat_rates_have_two_whole_digits_and_two_decimals_at_most() {
        assert_eq!(VatRate::parse("22").unwrap(), VatRate::Percent(2200));
        assert_eq!(VatRate::parse("7.5").unwrap(), VatRate::Percent(750));
        assert_eq!(VatRate::parse("7.25").unwrap(), VatRate::Percent(725));
        assert!(VatRate::parse("100").is_err());
        assert!(VatRate::parse("7.555").is_err());
        assert!(VatRate::parse("7.x").is_err());
        assert!(VatRate::parse("").is_err());
    }

    #[test]
    fn vat_rates_print_without_trailing_zeros() {
        assert_eq!(VatRate::Percent(2200).to_string(), "22");
        assert_eq!(VatRate::Percent(750).to_string(), "7.5");
        assert_eq!(VatRate::Percent(1005).to_string(), "10.05");
        assert_eq!(VatRate::Percent(0).to_string(), "0");
        assert_eq!(VatRate::Without.to_string(), "without");
    }

    #[test]
    fn percentages_run_from_zero_to_one_hundred() {
        assert_eq!(parse_percent("100").unwrap(), 10_000);
        assert_eq!(parse_percent("12.5%").unwrap(), 1250);
        assert_eq!(parse_percent("0").unwrap(), 0);
        assert_eq!(parse_percent("12.55").unwrap(), 1255);
        // Four digits are refused as written, even when their value would fit.
        for bad in ["", "1000", "0100", "100.01", "12.555", "1x", ".5"] {
            assert_eq!(parse_percent(bad).unwrap_err().code, "invalid_percent", "{bad:?}");
        }
    }
}
