//! Value types parsed once at the edge: a value of these types is valid by construction.

use std::fmt;

use chrono_tz::Tz;

/// Why a raw value was refused: a stable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValueError {
    pub code: &'static str,
    pub message: String,
}

impl ValueError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

/// An e-mail address, trimmed and lower-cased so that one mailbox has one spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let value = raw.trim().to_lowercase();
        let invalid = || ValueError::new("invalid_email", format!("{raw:?} is not an e-mail address"));
        if value.is_empty() || value.chars().count() > Self::MAX_LEN {
            return Err(invalid());
        }
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        let bad_char = |c: char| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '<' | '>' | ',' | ';' | '"' | '(' | ')' | '[' | ']' | '\\')
        };
        if local.is_empty()
            || local.len() > 64
            || domain.is_empty()
            || local.contains(bad_char)
            || domain.contains(bad_char)
            || local.contains('@')
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
            // A leading, trailing or doubled dot leaves an empty label, refused here.
            || !domain.split('.').all(is_domain_label)
        {
            return Err(invalid());
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A DNS label as mail can be sent to it: letters (any script, for IDN),
/// digits and inner hyphens. `example.com*` would be kept and then refused
/// by the mailer when an invoice goes out.
fn is_domain_label(label: &str) -> bool {
    !label.is_empty()
        && label.chars().count() <= 63
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label.chars().all(|c| c.is_alphanumeric() || c == '-')
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's or a department's display name: trimmed, inner runs of spaces collapsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_LEN: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let value = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if value.is_empty() {
            return Err(ValueError::new("blank", "must not be blank"));
        }
        if value.chars().count() > Self::MAX_LEN {
            return Err(ValueError::new("too_long", format!("must be at most {} characters", Self::MAX_LEN)));
        }
        if value.chars().any(char::is_control) {
            return Err(ValueError::new("invalid_characters", "must not contain control characters"));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form two names are compared in: case-folded.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISO 4217 currency code (`RUB`, `USD`): three Latin letters, taken in
/// any case and kept upper-case. Amounts carry one, and sums are made per
/// currency, never across two.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(String);

impl Currency {
    /// The organisation's own currency, and the default of every document.
    pub const RUB: &'static str = "RUB";

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        // Exactly three letters: the spec's pattern, so " RUB" is refused, not trimmed.
        let code = raw.to_ascii_uppercase();
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(code))
        } else {
            Err(ValueError::new("invalid_currency", "use an ISO 4217 code such as RUB"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// An IANA time zone name known to the tz database (`Europe/Moscow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZoneName(Tz);

impl TimeZoneName {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        raw.trim().parse::<Tz>().map(Self).map_err(|_| {
            ValueError::new("unknown_time_zone", format!("{raw:?} is not an IANA time zone name"))
        })
    }

    pub fn tz(self) -> Tz {
        self.0
    }

    pub fn as_str(self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        let email = Email::parse("  Ivan.Petrov@Example.RU ").unwrap();
        assert_eq!(email.as_str(), "ivan.petrov@example.ru");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for raw in [
            "",
            "no-at-sign",
            "@example.ru",
            "ivan@",
            "a b@example.ru",
            "ivan@@x.ru",
            "ivan@.ru",
            "ivan@x.ru.",
            "ivan@x..ru",
            "f++i@2ymx.info*",
            "ivan@-x.ru",
            "ivan@x-.ru",
            "ivan@x_y.ru",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} should be refused");
        }
        let long_label = format!("ivan@{}.ru", "a".repeat(64));
        assert!(Email::parse(&long_label).is_err());
        for fine in ["f++i@2ymx.info", "ivan@xn--80ak6aa92e.com", "иван@почта.рф", "a-b@x-y.ru"] {
            assert!(Email::parse(fine).is_ok(), "{fine:?} should be taken");
        }
        assert!(Email::parse(&format!("ivan@{}.ru", "a".repeat(63))).is_ok());
    }

    #[test]
    fn names_collapse_spaces_and_refuse_blank() {
        assert_eq!(PersonName::parse("  Анна   Смирнова ").unwrap().as_str(), "Анна Смирнова");
        assert_eq!(PersonName::parse("Отдел Продаж").unwrap().key(), "отдел продаж");
        assert_eq!(PersonName::parse("   ").unwrap_err().code, "blank");
        assert_eq!(PersonName::parse(&"я".repeat(201)).unwrap_err().code, "too_long");
    }

    #[test]
    fn time_zones_must_be_iana_names() {
        assert_eq!(TimeZoneName::parse("Europe/Moscow").unwrap().as_str(), "Europe/Moscow");
        assert!(TimeZoneName::parse("Mars/Olympus").is_err());
        assert!(TimeZoneName::parse("+03:00").is_err());
    }
}

#[cfg(test)]
mod edge_tests {
    use super::*;

    fn address(local: usize, total: usize) -> String {
        // Labels of 59 letters: a DNS label holds at most 63.
        let labels: String =
            (0..total - local - 1 - 3).map(|i| if i % 60 == 59 { '.' } else { 'd' }).collect();
        let domain = format!("{labels}.ru");
        format!("{}@{domain}", "l".repeat(local))
    }

    #[test]
    fn addresses_are_capped_at_254_characters_and_locals_at_64() {
        assert!(Email::parse(&address(64, 254)).is_ok());
        assert!(Email::parse(&address(64, 255)).is_err());
        assert!(Email::parse(&address(64, 256)).is_err());
        assert!(Email::parse(&address(65, 120)).is_err());
        assert!(Email::parse(&address(66, 120)).is_err());
        assert!(Email::parse(&address(63, 120)).is_ok());
    }

    #[test]
    fn every_malformed_part_is_refused() {
        for bad in [
            "",
            "a b@x.ru",
            "a\u{1}b@x.ru",
            "a<b@x.ru",
            "ab@x\u{7}.ru",
            "@x.ru",
            "a@",
            "a@.x.ru",
            "a@x.ru.",
            "a@x..ru",
            ".a@x.ru",
            "a.@x.ru",
            "a..b@x.ru",
            "a\"b@x.ru",
            "a@b@x.ru",
        ] {
            assert_eq!(Email::parse(bad).unwrap_err().code, "invalid_email", "{bad:?} accepted");
        }
        let ok = Email::parse(" Ivan.Petrov@Example.RU ").unwrap();
        assert_eq!(ok.as_str(), "ivan.petrov@example.ru");
        assert_eq!(ok.to_string(), "ivan.petrov@example.ru");
    }

    #[test]
    fn names_may_be_exactly_the_longest_allowed() {
        let longest = "я".repeat(PersonName::MAX_LEN);
        assert_eq!(PersonName::parse(&longest).unwrap().to_string(), longest);
        assert!(PersonName::parse(&"я".repeat(PersonName::MAX_LEN + 1)).is_err());
    }

    #[test]
    fn time_zones_keep_their_zone() {
        let msk = TimeZoneName::parse("Europe/Moscow").unwrap();
        assert_eq!(msk.tz(), chrono_tz::Europe::Moscow);
        assert_eq!(msk.to_string(), "Europe/Moscow");
        assert_eq!(msk.as_str(), "Europe/Moscow");
    }
}

#[cfg(test)]
mod currency_tests {
    use super::*;

    #[test]
    fn currencies_are_three_latin_letters_in_upper_case() {
        assert_eq!(Currency::parse("rub").unwrap().as_str(), "RUB");
        assert_eq!(Currency::parse("USD").unwrap().into_string(), "USD");
        for bad in ["", "RU", "RUBL", "R1B", "руб", "rubles", " RUB", "RUB "] {
            assert_eq!(Currency::parse(bad).unwrap_err().code, "invalid_currency", "{bad:?}");
        }
    }
}
