//! Contact details parsed once: phones in E.164, tax ids with their checksum,
//! names reduced to a key for comparison. Duplicate search works on these.

use std::fmt;

use crate::values::ValueError;

/// A phone number in E.164 (`+79161234567`). Russian numbers may be written
/// the local way: `8 (916) 123-45-67` and `+7 916 1234567` are the same.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let bad = || ValueError::new("invalid_phone", format!("{raw:?} is not a phone number"));
        // The shape the spec publishes: digits and the marks people write
        // between them. libphonenumber alone would also read letters
        // (vanity numbers) and `ext.`, which no field here means.
        let trimmed = raw.trim();
        if trimmed.is_empty()
            || trimmed.len() > 40
            || !trimmed.bytes().all(|b| b.is_ascii_digit() || b"+() .-".contains(&b))
        {
            return Err(bad());
        }
        // Read as a Russian number unless it says otherwise: libphonenumber's
        // Russian metadata takes the trunk prefix 8 for +7 (`8 916 …`), and a
        // leading `+` names the country (the tests pin both).
        // Of the right shape, but no number of a numbering plan: a rule the
        // spec's pattern cannot state.
        let unknown = || {
            ValueError::new("not_a_phone_number", format!("{raw:?} is not a number of any numbering plan"))
        };
        let number =
            phonenumber::parse(Some(phonenumber::country::Id::RU), trimmed).map_err(|_| unknown())?;
        if !phonenumber::is_valid(&number) {
            return Err(unknown());
        }
        Ok(Self(number.format().mode(phonenumber::Mode::E164).to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Russian taxpayer number (ИНН): 10 digits for organisations, 12 for
/// individuals and sole traders, with the check digits verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaxId(String);

fn check_digit(digits: &[u32], weights: &[u32]) -> u32 {
    digits.iter().zip(weights).map(|(d, w)| d * w).sum::<u32>() % 11 % 10
}

impl TaxId {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let value: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if !value.chars().all(|c| c.is_ascii_digit()) || !(value.len() == 10 || value.len() == 12) {
            return Err(ValueError::new(
                "invalid_tax_id",
                "an ИНН has 10 digits (organisation) or 12 (person)",
            ));
        }
        let d: Vec<u32> = value.chars().filter_map(|c| c.to_digit(10)).collect();
        let ok = if d.len() == 10 {
            check_digit(&d[..9], &[2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[9]
        } else {
            check_digit(&d[..10], &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[10]
                && check_digit(&d[..11], &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[11]
        };
        if !ok {
            return Err(ValueError::new("tax_id_checksum", format!("{value} fails the ИНН checksum")));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Organisations have 10 digits, people 12.
    pub fn is_organisation(&self) -> bool {
        self.0.len() == 10
    }
}

/// Words of legal form that say nothing about who a client is.
const LEGAL_FORMS: &[&str] = &[
    "ооо", "оао", "зао", "пао", "ао", "ип", "нко", "ано", "гуп", "муп", "фгуп", "тоо", "llc", "ltd", "inc",
    "corp", "co", "gmbh", "plc", "jsc", "oy", "ab", "sa", "ag",
];

/// A name reduced for comparison: lower case, no quotes or punctuation, no
/// legal-form words, single spaces. `ООО «Ромашка»` and `ромашка ooo`… match.
pub fn name_key(name: &str) -> String {
    let cleaned: String = name
        .to_lowercase()
        .replace('ё', "е")
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    cleaned.split_whitespace().filter(|w| !LEGAL_FORMS.contains(w)).collect::<Vec<_>>().join(" ")
}

/// The words of a name key worth indexing for similar-name search.
pub fn name_tokens(key: &str) -> Vec<String> {
    let mut tokens: Vec<String> =
        key.split_whitespace().filter(|w| w.chars().count() >= 2).map(str::to_owned).collect();
    tokens.sort();
    tokens.dedup();
    tokens
}

/// How alike two name keys are, from 0 to 1 (Jaro–Winkler over the keys).
pub fn name_similarity(a: &str, b: &str) -> f64 {
    // Jaro–Winkler scores two empty strings 1.0 (and an empty against any
    // other 0.0): a name with nothing in it is like nothing.
    if a.is_empty() {
        return 0.0;
    }
    strsim::jaro_winkler(a, b)
}

/// A messenger handle as given (`@ivan_petrov` → `ivan_petrov`).
pub fn handle(raw: &str) -> Result<String, ValueError> {
    let h = raw.trim().trim_start_matches('@');
    if h.is_empty() || h.chars().count() > 64 || h.chars().any(char::is_whitespace) {
        return Err(ValueError::new("invalid_handle", format!("{raw:?} is not a messenger handle")));
    }
    Ok(h.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_numbers_written_any_way_are_one_number() {
        let forms =
            ["8 (916) 123-45-67", "+7 916 1234567", "+7(916)123-45-67", "89161234567", "916 123 45 67"];
        for f in forms {
            assert_eq!(Phone::parse(f).unwrap().as_str(), "+79161234567", "{f}");
        }
        assert_eq!(Phone::parse("+44 20 7946 0958").unwrap().as_str(), "+442079460958");
        for bad in ["", "123", "phone", "+7 916 12"] {
            assert!(Phone::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn tax_ids_are_checked() {
        assert!(TaxId::parse("7707083893").unwrap().is_organisation());
        assert!(!TaxId::parse("500100732259").unwrap().is_organisation());
        assert_eq!(TaxId::parse("7707083894").unwrap_err().code, "tax_id_checksum");
        assert_eq!(TaxId::parse("500100732258").unwrap_err().code, "tax_id_checksum");
        assert_eq!(TaxId::parse("77070838").unwrap_err().code, "invalid_tax_id");
        assert_eq!(TaxId::parse("77070838x3").unwrap_err().code, "invalid_tax_id");
    }

    #[test]
    fn names_compare_without_case_quotes_and_legal_forms() {
        assert_eq!(name_key("ООО «Ромашка»"), "ромашка");
        assert_eq!(name_key("  \"Ромашка\"   ООО "), "ромашка");
        assert_eq!(name_key("Acme Ltd."), "acme");
        assert_eq!(name_key("ИП Пётр Иванов"), "петр иванов");
        assert!(name_similarity("ромашка", "ромашкa") > 0.9);
        assert!(name_similarity("ромашка", "василек") < 0.7);
        assert_eq!(name_tokens("петр иванов и"), vec!["иванов", "петр"]);
    }
}

#[cfg(test)]
mod edge_tests {
    use super::*;

    #[test]
    fn phone_length_is_capped_at_forty_characters() {
        let padded = |n: usize| format!("+7{}9161234567", " ".repeat(n - 12));
        assert_eq!(Phone::parse(&padded(40)).unwrap().as_str(), "+79161234567");
        assert_eq!(Phone::parse(&padded(41)).unwrap_err().code, "invalid_phone");
        assert_eq!(Phone::parse(&padded(42)).unwrap_err().code, "invalid_phone");
        assert_eq!(Phone::parse("   ").unwrap_err().code, "invalid_phone");
    }

    #[test]
    fn a_phone_of_the_wrong_shape_differs_from_one_no_plan_has() {
        // Letters and `ext.` are outside the published pattern, though
        // libphonenumber would read them.
        assert_eq!(Phone::parse("8 916 FLOWERS").unwrap_err().code, "invalid_phone");
        assert_eq!(Phone::parse("+7 916 123-45-67 ext. 5").unwrap_err().code, "invalid_phone");
        assert_eq!(Phone::parse("8\u{0}9161234567").unwrap_err().code, "invalid_phone");
        assert_eq!(Phone::parse("+7 (916) 123.45.67").unwrap().as_str(), "+79161234567");
        assert_eq!(Phone::parse("0-8").unwrap_err().code, "not_a_phone_number");
        assert_eq!(Phone::parse("+").unwrap_err().code, "not_a_phone_number");
    }

    #[test]
    fn a_trunk_eight_is_plus_seven_but_a_written_plus_names_the_country() {
        // Written with a plus, an 8 is a country code, never the Russian trunk prefix.
        assert!(Phone::parse("+89161234567").is_err());
        // China's +86: digits that start with 8 behind a plus stay as they are.
        assert_eq!(Phone::parse("+86 10 6552 9988").unwrap().as_str(), "+861065529988");
        assert_eq!(Phone::parse("8 903 123-45-67").unwrap().as_str(), "+79031234567");
        assert_eq!(Phone::parse("+79161234567").unwrap().to_string(), "+79161234567");
    }

    #[test]
    fn tax_ids_read_back_as_given_without_spaces() {
        assert_eq!(TaxId::parse("77 0708 3893").unwrap().as_str(), "7707083893");
    }

    #[test]
    fn an_empty_name_is_like_nothing() {
        assert_eq!(name_similarity("", ""), 0.0);
        assert_eq!(name_similarity("", "ромашка"), 0.0);
        assert_eq!(name_similarity("ромашка", ""), 0.0);
        assert_eq!(name_similarity("ромашка", "ромашка"), 1.0);
    }

    #[test]
    fn handles_lose_their_at_and_are_refused_blank_spaced_or_long() {
        assert_eq!(handle(" @ivan_petrov ").unwrap(), "ivan_petrov");
        assert_eq!(handle(&"я".repeat(64)).unwrap(), "я".repeat(64));
        assert_eq!(handle(&"я".repeat(65)).unwrap_err().code, "invalid_handle");
        assert_eq!(handle(&"a".repeat(66)).unwrap_err().code, "invalid_handle");
        assert_eq!(handle("@").unwrap_err().code, "invalid_handle");
        assert_eq!(handle("ivan petrov").unwrap_err().code, "invalid_handle");
    }
}
