//! Sales analytics for heads: reports computed from the stage-move log and
//! the interests it belongs to, never from where deals stand alone. Every
//! report takes the same filter (a period of the organisation's dates, and
//! optionally a scenario, a department and a responsible), sees what its
//! reader may see (a manager their own figures, a head their departments',
//! an admin everyone's) and sums money per currency, never across two.

pub mod funnel;
pub mod outcomes;
pub mod people;
pub mod plans;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use crm_domain::money::Total;
use crm_store::queries::analytics::Scope;
use crm_store::queries::{departments as dq, users as uq};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::policy::{self, Visibility};
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Problems};
use crate::App;

/// The longest period one report covers: two years of days.
pub const MAX_PERIOD_DAYS: i64 = 731;

/// What a report is asked for. Dates are the organisation's (its time zone,
/// `CRM_TIMEZONE`); both ends are included.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    /// Default: the first day of `to`'s month, else of this month.
    pub from: Option<NaiveDate>,
    /// Default: the last day of `from`'s month.
    pub to: Option<NaiveDate>,
    pub scenario_id: Option<Uuid>,
    /// Only people of this department and the departments below it.
    pub department_id: Option<Uuid>,
    pub responsible_id: Option<Uuid>,
}

/// A report's period: its dates, and the instants they span in UTC.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The first instant of `from`, in UTC.
    pub start: NaiveDateTime,
    /// The first instant after `to`, in UTC (excluded).
    pub end: NaiveDateTime,
    pub tz: Tz,
}

/// The first instant of a day in a zone, as UTC (a day that starts inside a
/// DST gap starts at the gap's end).
pub(crate) fn day_start(tz: Tz, day: NaiveDate) -> NaiveDateTime {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    match tz.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.naive_utc(),
        chrono::LocalResult::None => tz
            .from_local_datetime(&(midnight + chrono::Duration::hours(1)))
            .earliest()
            .map_or(midnight, |t| t.naive_utc()),
    }
}

pub(crate) fn last_of_month(day: NaiveDate) -> NaiveDate {
    let first = day.with_day(1).unwrap_or(day);
    first.checked_add_months(chrono::Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(day)
}

impl Period {
    /// The filter's period, checked: `to` not before `from`, at most
    /// [`MAX_PERIOD_DAYS`] days.
    pub fn of(filter: &ReportFilter, now: DateTime<Utc>, tz: Tz) -> Result<Period, AppError> {
        let today = now.with_timezone(&tz).date_naive();
        // Without `from`: the first of `to`'s month, else of this month.
        let first_of = |d: NaiveDate| d.with_day(1).unwrap_or(d);
        let from = filter.from.unwrap_or_else(|| first_of(filter.to.unwrap_or(today)));
        let to = filter.to.unwrap_or_else(|| last_of_month(from));
        let mut p = Problems::new();
        if to < from {
            p.push("to", "before_from", format!("the period ends before it starts ({from})"));
        } else if (to - from).num_days() >= MAX_PERIOD_DAYS {
            p.push("to", "period_too_long", format!("a report covers at most {MAX_PERIOD_DAYS} days"));
        }
        p.into_result()?;
        let next = to.succ_opt().ok_or_else(|| AppError::field("to", "out_of_range", "too far ahead"))?;
        Ok(Period { from, to, start: day_start(tz, from), end: day_start(tz, next), tz })
    }

    /// The months the period touches, each as (first day, last day) cut to the period.
    pub fn months(&self) -> Vec<(NaiveDate, NaiveDate)> {
        let mut out = Vec::new();
        let mut first = self.from;
        while first <= self.to {
            let last = last_of_month(first).min(self.to);
            out.push((first, last));
            match last.succ_opt() {
                Some(next) => first = next,
                None => break,
            }
        }
        out
    }
}

/// Whose figures the reader gets: what they may see, narrowed by the filter.
/// A department or person they cannot see narrows to nobody — the report is
/// empty, and says nothing of whether they exist.
pub(crate) fn scope(
    conn: &mut DbConnection,
    actor: &Principal,
    filter: &ReportFilter,
) -> Result<Scope, AppError> {
    let mut people: Option<Vec<Uuid>> = match policy::visibility(conn, actor)? {
        Visibility::All => None,
        Visibility::Responsible(users) => Some(users),
    };
    if let Some(department) = filter.department_id {
        let members: Vec<Uuid> = if dq::find(conn, department.into())?.is_some() {
            let tree: Vec<DbUuid> = policy::subtree(conn, department)?.into_iter().map(Into::into).collect();
            uq::ids_in_departments(conn, &tree)?.into_iter().map(Uuid::from).collect()
        } else {
            Vec::new()
        };
        people = Some(match people {
            None => members,
            Some(seen) => seen.into_iter().filter(|u| members.contains(u)).collect(),
        });
    }
    if let Some(one) = filter.responsible_id {
        people = Some(match people {
            None => vec![one],
            Some(seen) => seen.into_iter().filter(|u| *u == one).collect(),
        });
    }
    Ok(Scope {
        responsible_in: people.map(|p| p.into_iter().map(Into::into).collect()),
        scenario_id: filter.scenario_id.map(Into::into),
    })
}

/// What every report does first: the permission, the period, the scope.
pub(crate) fn prepare(
    app: &App,
    conn: &mut DbConnection,
    actor: &Principal,
    filter: &ReportFilter,
) -> Result<(Period, Scope), AppError> {
    let period = Period::of(filter, app.now(), app.settings().default_time_zone.tz())?;
    Ok((period, scope(conn, actor, filter)?))
}

/// Runs a report: checks the permission, then reads in one transaction (one
/// snapshot, so the figures of one report agree with each other).
pub(crate) fn report<T>(
    app: &App,
    actor: &Principal,
    filter: &ReportFilter,
    f: impl FnOnce(&mut DbConnection, Period, Scope) -> Result<T, AppError>,
) -> Result<T, AppError> {
    actor.require(&permissions::READ_ANALYTICS)?;
    app.read(|conn| {
        let (period, scope) = prepare(app, conn, actor, filter)?;
        f(conn, period, scope)
    })
}

/// Amounts in minor units, per currency: never two currencies added. Held
/// as `i128` so a company's sum of any number of deals cannot overflow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sums(pub BTreeMap<String, i128>);

impl Sums {
    pub fn add(&mut self, currency: &str, minor: i128) {
        *self.0.entry(currency.to_owned()).or_default() += minor;
    }

    /// `(currency, "1234.50")`, by currency code.
    pub fn decimal(&self) -> Vec<(String, String)> {
        self.0.iter().map(|(c, m)| (c.clone(), Total(*m).to_string())).collect()
    }
}

/// `part / whole` in percent to one decimal; `None` when `whole` is zero.
pub fn percent(part: usize, whole: usize) -> Option<f64> {
    if whole == 0 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)] // counts of deals are far below 2^52
    let p = part as f64 * 100.0 / whole as f64;
    Some((p * 10.0).round() / 10.0)
}

/// A span in days to two decimals.
pub fn days(seconds: i64) -> f64 {
    #[allow(clippy::cast_precision_loss)] // spans of seconds are far below 2^52
    let d = seconds as f64 / 86_400.0;
    (d * 100.0).round() / 100.0
}

/// The mean of spans in seconds, in days; `None` when there are none.
pub fn mean_days(spans: &[i64]) -> Option<f64> {
    let n = i64::try_from(spans.len()).ok().filter(|n| *n > 0)?;
    Some(days(spans.iter().sum::<i64>() / n))
}

/// From creation to closing, in seconds (0 for an interest not closed).
pub(crate) fn cycle_seconds(d: &crm_store::queries::analytics::DealFacts) -> i64 {
    d.closed_at.map_or(0, |c| (c - d.created_at).num_seconds())
}

/// The mean and the median of spans in seconds, in days; `None` when there are none.
pub fn mean_and_median(mut seconds: Vec<i64>) -> Option<(f64, f64)> {
    if seconds.is_empty() {
        return None;
    }
    seconds.sort_unstable();
    let n = seconds.len();
    let total: i128 = seconds.iter().map(|s| i128::from(*s)).sum();
    let count = i128::try_from(n).ok()?;
    let mean = i64::try_from(total / count).ok()?;
    let median = if n % 2 == 1 { seconds[n / 2] } else { (seconds[n / 2 - 1] + seconds[n / 2]) / 2 };
    Some((days(mean), days(median)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_keep_currencies_apart() {
        let mut s = Sums::default();
        s.add("RUB", 123_450);
        s.add("USD", -1205);
        s.add("RUB", i128::from(i64::MAX) * 4);
        assert_eq!(
            s.decimal(),
            [("RUB".to_owned(), "368934881474192266.78".to_owned()), ("USD".to_owned(), "-12.05".to_owned())]
        );
    }

    #[test]
    fn percents_and_days_round_as_published() {
        assert_eq!(percent(2, 3), Some(66.7));
        assert_eq!(percent(0, 0), None);
        assert_eq!(days(86_400 * 3 / 2), 1.5);
        assert_eq!(mean_and_median(vec![86_400, 3 * 86_400, 8 * 86_400]), Some((4.0, 3.0)));
        assert_eq!(mean_and_median(vec![86_400, 2 * 86_400]), Some((1.5, 1.5)));
        assert_eq!(mean_and_median(vec![]), None);
    }

    #[test]
    fn a_period_is_the_organisations_days() {
        let moscow: Tz = "Europe/Moscow".parse().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 22, 0, 0).unwrap(); // 1 December in Moscow
        let p = Period::of(&ReportFilter::default(), now, moscow).unwrap();
        assert_eq!((p.from.to_string(), p.to.to_string()), ("2026-12-01".into(), "2026-12-31".into()));
        assert_eq!(p.start.to_string(), "2026-11-30 21:00:00");
        assert_eq!(p.end.to_string(), "2026-12-31 21:00:00");
        let f = |from: &str, to: &str| ReportFilter {
            from: Some(from.parse().unwrap()),
            to: Some(to.parse().unwrap()),
            ..Default::default()
        };
        let only_to = ReportFilter { to: Some("2026-03-10".parse().unwrap()), ..Default::default() };
        let p = Period::of(&only_to, now, moscow).unwrap();
        assert_eq!((p.from.to_string(), p.to.to_string()), ("2026-03-01".into(), "2026-03-10".into()));
        let months = Period::of(&f("2026-01-15", "2026-03-02"), now, moscow).unwrap().months();
        let shown: Vec<String> = months.iter().map(|(a, b)| format!("{a}..{b}")).collect();
        assert_eq!(shown, ["2026-01-15..2026-01-31", "2026-02-01..2026-02-28", "2026-03-01..2026-03-02"]);
        assert!(Period::of(&f("2026-03-02", "2026-03-01"), now, moscow).is_err());
        assert!(Period::of(&f("2026-01-01", "2028-01-01"), now, moscow).is_ok());
        assert!(Period::of(&f("2026-01-01", "2028-01-02"), now, moscow).is_err());
    }
}
