//! A date that comes round every year (a birthday, a company's founding, an
//! important date): day and month, the year when known.

use std::fmt;

use chrono::{Datelike, NaiveDate};

use crate::values::ValueError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct YearlyDate {
    month: u32,
    day: u32,
    year: Option<i32>,
}

impl YearlyDate {
    /// `YYYY-MM-DD`, or `--MM-DD` when the year is not known (ISO 8601 and
    /// vCard write it so). 29 February needs no year; with one, a leap year.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let bad = || {
            ValueError::new(
                "invalid_date",
                format!("{raw:?} is not a date: use YYYY-MM-DD, or --MM-DD without the year"),
            )
        };
        let raw = raw.trim();
        if let Some(md) = raw.strip_prefix("--") {
            let (m, d) = md.split_once('-').ok_or_else(bad)?;
            if m.len() != 2 || d.len() != 2 {
                return Err(bad());
            }
            let (month, day): (u32, u32) = (m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
            // 2000 was a leap year: any day that exists in some year passes.
            NaiveDate::from_ymd_opt(2000, month, day).ok_or_else(bad)?;
            return Ok(Self { month, day, year: None });
        }
        let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| bad())?;
        if raw.len() != 10 {
            return Err(bad());
        }
        if !(1900..=2200).contains(&date.year()) {
            return Err(ValueError::new("date_out_of_range", "dates lie in the years 1900–2200"));
        }
        Ok(Self::of(date))
    }

    /// A known date.
    pub fn of(date: NaiveDate) -> Self {
        Self { month: date.month(), day: date.day(), year: Some(date.year()) }
    }

    /// `MM-DD`: what the yearly lookups index.
    pub fn month_day(&self) -> String {
        format!("{:02}-{:02}", self.month, self.day)
    }

    /// The day it falls on in `year`: 29 February is kept on the 28th in a
    /// year without one.
    pub fn in_year(&self, year: i32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(year, self.month, self.day).or_else(|| {
            (self.month == 2 && self.day == 29).then(|| NaiveDate::from_ymd_opt(year, 2, 28)).flatten()
        })
    }

    /// Its next day on or after `from`.
    pub fn next_from(&self, from: NaiveDate) -> Option<NaiveDate> {
        match self.in_year(from.year()) {
            Some(d) if d >= from => Some(d),
            _ => self.in_year(from.year() + 1),
        }
    }

    /// How many years it marks on `on` (an age, an anniversary), when the year is known.
    pub fn years_on(&self, on: NaiveDate) -> Option<i32> {
        self.year.map(|y| on.year() - y)
    }

    /// The `MM-DD` keys whose dates fall from `from` to `to` inclusive:
    /// a 28 February of a year without a 29th also finds the 29ths.
    pub fn keys_between(from: NaiveDate, to: NaiveDate) -> Vec<String> {
        let mut keys = Vec::new();
        let mut d = from;
        while d <= to {
            let key = format!("{:02}-{:02}", d.month(), d.day());
            if !keys.contains(&key) {
                keys.push(key);
            }
            if d.month() == 2 && d.day() == 28 && NaiveDate::from_ymd_opt(d.year(), 2, 29).is_none() {
                keys.push("02-29".to_owned());
            }
            match d.succ_opt() {
                Some(n) => d = n,
                None => break,
            }
        }
        keys
    }
}

impl fmt::Display for YearlyDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.year {
            Some(y) => write!(f, "{y:04}-{:02}-{:02}", self.month, self.day),
            None => write!(f, "--{:02}-{:02}", self.month, self.day),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn reads_and_writes_both_forms() {
        assert_eq!(YearlyDate::parse("1985-05-14").unwrap().to_string(), "1985-05-14");
        assert_eq!(YearlyDate::parse("--05-14").unwrap().to_string(), "--05-14");
        assert_eq!(YearlyDate::parse("--02-29").unwrap().month_day(), "02-29");
        for bad in ["1985-02-29", "--13-01", "--02-30", "14.05.1985", "--5-14", "1985-5-14", ""] {
            assert_eq!(YearlyDate::parse(bad).unwrap_err().code, "invalid_date", "{bad}");
        }
        assert_eq!(YearlyDate::parse("1850-01-01").unwrap_err().code, "date_out_of_range");
    }

    #[test]
    fn comes_round_each_year_and_a_leap_day_on_the_28th() {
        let b = YearlyDate::parse("1985-05-14").unwrap();
        assert_eq!(b.next_from(day("2026-12-01")), Some(day("2027-05-14")));
        assert_eq!(b.next_from(day("2027-05-14")), Some(day("2027-05-14")));
        assert_eq!(b.years_on(day("2027-05-14")), Some(42));
        let leap = YearlyDate::parse("--02-29").unwrap();
        assert_eq!(leap.next_from(day("2027-01-01")), Some(day("2027-02-28")));
        assert_eq!(leap.next_from(day("2028-01-01")), Some(day("2028-02-29")));
        assert_eq!(
            YearlyDate::keys_between(day("2027-02-27"), day("2027-03-01")),
            ["02-27", "02-28", "02-29", "03-01"]
        );
        assert_eq!(YearlyDate::keys_between(day("2026-12-31"), day("2027-01-01")), ["12-31", "01-01"]);
    }
}
