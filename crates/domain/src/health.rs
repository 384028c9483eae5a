//! An interest's health on the board, judged in the responsible's time zone:
//! red when something agreed with the client is overdue, yellow when something
//! is due today, green otherwise.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Health {
    Green,
    Yellow,
    Red,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Green => "green",
            Health::Yellow => "yellow",
            Health::Red => "red",
        }
    }
}

/// Judges the health from the due times of open tasks and planned interactions.
pub fn judge(now: DateTime<Utc>, tz: Tz, due: impl IntoIterator<Item = DateTime<Utc>>) -> Health {
    let today = now.with_timezone(&tz).date_naive();
    let mut health = Health::Green;
    for at in due {
        if at < now {
            return Health::Red;
        }
        if at.with_timezone(&tz).date_naive() == today {
            health = Health::Yellow;
        }
    }
    health
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const MSK: Tz = chrono_tz::Europe::Moscow;

    #[test]
    fn health_follows_the_nearest_due_time_in_the_local_day() {
        // 23:30 in Moscow on 30 November.
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 20, 30, 0).unwrap();
        assert_eq!(judge(now, MSK, []), Health::Green);
        let later_tonight = Utc.with_ymd_and_hms(2026, 11, 30, 20, 59, 0).unwrap();
        assert_eq!(judge(now, MSK, [later_tonight]), Health::Yellow);
        // 00:30 Moscow time on 1 December is tomorrow there, though still 30 November in UTC.
        let after_local_midnight = Utc.with_ymd_and_hms(2026, 11, 30, 21, 30, 0).unwrap();
        assert_eq!(judge(now, MSK, [after_local_midnight]), Health::Green);
        let past = Utc.with_ymd_and_hms(2026, 11, 30, 20, 0, 0).unwrap();
        assert_eq!(judge(now, MSK, [later_tonight, past]), Health::Red);
    }
}

#[cfg(test)]
mod edge_tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn due_this_very_instant_is_today_not_overdue() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap();
        assert_eq!(judge(now, chrono_tz::Europe::Moscow, [now]), Health::Yellow);
        assert_eq!(Health::Green.as_str(), "green");
        assert_eq!(Health::Yellow.as_str(), "yellow");
        assert_eq!(Health::Red.as_str(), "red");
    }
}
