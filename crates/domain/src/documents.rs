//! Rules of sales documents that hold whatever stores them: which order
//! states take payments or edits, how a payment schedule splits a total.

use crate::pricing::div_round;
use crate::Money;

pub use crate::status::OrderStatus;

impl OrderStatus {
    /// Lines, totals, agreement and schedule change only before posting.
    pub fn lines_editable(self) -> bool {
        self == Self::Draft
    }

    /// Only a posted order takes payments and ships.
    pub fn takes_payments(self) -> bool {
        self == Self::Confirmed
    }
}

/// How far an interest's confirmed orders are covered: what the scenario's
/// guards and the close-won check ask of the documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// Confirmed orders.
    pub orders: usize,
    /// Every confirmed order is paid in full (false when there are none).
    pub fully_paid: bool,
    /// Every line of every confirmed order is shipped in full (false when
    /// there are no orders).
    pub fully_shipped: bool,
    /// The confirmed orders' total.
    pub revenue: Money,
}

impl Coverage {
    /// From the confirmed orders' `(total, paid)` and their lines'
    /// `(quantity, shipped)`, in minor units and thousandths.
    pub fn of(orders: &[(i64, i64)], lines: &[(i64, i64)]) -> Result<Self, crate::TooLarge> {
        let any = !orders.is_empty();
        Ok(Self {
            orders: orders.len(),
            fully_paid: any && orders.iter().all(|(total, paid)| paid >= total),
            fully_shipped: any && lines.iter().all(|(quantity, shipped)| shipped >= quantity),
            revenue: Money::checked_sum(orders.iter().map(|(total, _)| Money::from_minor(*total)))?,
        })
    }
}

/// Splits `total` by percentages (hundredths of a percent, summing to 10 000):
/// each share rounds half away from zero and the last takes the remainder,
/// so the schedule always adds up to the total exactly.
pub fn split_by_percents(total: Money, shares_bp: &[u32]) -> Vec<Money> {
    let mut out = Vec::with_capacity(shares_bp.len());
    let mut left = total.minor();
    for (i, bp) in shares_bp.iter().enumerate() {
        if i + 1 == shares_bp.len() {
            out.push(Money::from_minor(left));
        } else {
            let share = i64::try_from(div_round(i128::from(total.minor()) * i128::from(*bp), 10_000))
                .unwrap_or(0)
                .min(left);
            left -= share;
            out.push(Money::from_minor(share));
        }
    }
    out
}

/// What a payment schedule's instalment has received, given the order's paid
/// amount: payments cover instalments in their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstalmentCoverage {
    Paid,
    PartiallyPaid(Money),
    Unpaid,
}

/// Allocates `paid` over instalment amounts in order.
pub fn allocate(paid: Money, amounts: &[Money]) -> Vec<InstalmentCoverage> {
    let mut left = paid.minor().max(0);
    amounts
        .iter()
        .map(|a| {
            let got = left.min(a.minor());
            left -= got;
            if got >= a.minor() {
                InstalmentCoverage::Paid
            } else if got > 0 {
                InstalmentCoverage::PartiallyPaid(Money::from_minor(got))
            } else {
                InstalmentCoverage::Unpaid
            }
        })
        .collect()
}

// Amounts in tests are written roubles_kopecks (`100_01` is 100.01).
#[cfg(test)]
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;

    #[test]
    fn coverage_needs_orders_and_counts_every_one() {
        let none = Coverage::of(&[], &[]).unwrap();
        assert_eq!(
            none,
            Coverage { orders: 0, fully_paid: false, fully_shipped: false, revenue: Money::ZERO }
        );
        let paid = Coverage::of(&[(100_00, 100_00), (50_00, 60_00)], &[(2_000, 2_000)]).unwrap();
        assert_eq!(
            paid,
            Coverage { orders: 2, fully_paid: true, fully_shipped: true, revenue: Money::from_minor(150_00) }
        );
        let short =
            Coverage::of(&[(100_00, 100_00), (50_00, 49_99)], &[(2_000, 1_999), (1_000, 1_000)]).unwrap();
        assert!(!short.fully_paid && !short.fully_shipped);
        assert_eq!(Coverage::of(&[(Money::MAX, 0), (1, 0)], &[]), Err(crate::TooLarge));
    }

    #[test]
    fn schedules_add_up_to_the_total_exactly() {
        assert_eq!(
            split_by_percents(Money::from_minor(100_01), &[5000, 5000]),
            vec![Money::from_minor(50_01), Money::from_minor(50_00)]
        );
        assert_eq!(
            split_by_percents(Money::from_minor(100_00), &[3333, 3333, 3334]),
            vec![Money::from_minor(33_33), Money::from_minor(33_33), Money::from_minor(33_34)]
        );
        assert_eq!(
            split_by_percents(Money::from_minor(1), &[5000, 5000]),
            vec![Money::from_minor(1), Money::from_minor(0)]
        );
        for total in [0, 1, 7, 99_99, 123_456_78] {
            for shares in [&[10_000][..], &[3000, 7000], &[3333, 3333, 3334], &[1, 9999]] {
                let parts = split_by_percents(Money::from_minor(total), shares);
                assert_eq!(parts.iter().map(|m| m.minor()).sum::<i64>(), total);
                assert!(parts.iter().all(|m| m.minor() >= 0));
            }
        }
    }

    #[test]
    fn payments_cover_instalments_in_order() {
        let amounts = [Money::from_minor(50_00), Money::from_minor(50_00)];
        assert_eq!(
            allocate(Money::from_minor(0), &amounts),
            vec![InstalmentCoverage::Unpaid, InstalmentCoverage::Unpaid]
        );
        assert_eq!(
            allocate(Money::from_minor(70_00), &amounts),
            vec![InstalmentCoverage::Paid, InstalmentCoverage::PartiallyPaid(Money::from_minor(20_00))]
        );
        assert_eq!(
            allocate(Money::from_minor(150_00), &amounts),
            vec![InstalmentCoverage::Paid, InstalmentCoverage::Paid]
        );
    }

    #[test]
    fn only_drafts_change_and_only_posted_orders_take_money() {
        assert!(OrderStatus::Draft.lines_editable());
        assert!(!OrderStatus::Confirmed.lines_editable());
        assert!(!OrderStatus::Cancelled.takes_payments());
        assert!(!OrderStatus::Draft.takes_payments());
        assert!(OrderStatus::Confirmed.takes_payments());
    }
}

#[cfg(test)]
mod status_tests {
    use super::*;

    #[test]
    fn every_order_status_reads_back_from_its_word() {
        for s in [OrderStatus::Draft, OrderStatus::Confirmed, OrderStatus::Cancelled] {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(OrderStatus::Draft.as_str(), "draft");
        assert_eq!(OrderStatus::Confirmed.as_str(), "confirmed");
        assert_eq!(OrderStatus::Cancelled.as_str(), "cancelled");
        assert_eq!(OrderStatus::parse("posted"), None);
        assert!(OrderStatus::Draft.lines_editable() && !OrderStatus::Confirmed.lines_editable());
        assert!(OrderStatus::Confirmed.takes_payments() && !OrderStatus::Cancelled.takes_payments());
    }
}
