//! Amounts in Russian words, as an invoice writes its total ("Сумма прописью").

use crate::Money;

const UNITS_M: [&str; 10] = ["", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"];
const UNITS_F: [&str; 10] = ["", "одна", "две", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"];
const TEENS: [&str; 10] = [
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
];
const TENS: [&str; 10] = [
    "",
    "",
    "двадцать",
    "тридцать",
    "сорок",
    "пятьдесят",
    "шестьдесят",
    "семьдесят",
    "восемьдесят",
    "девяносто",
];
const HUNDREDS: [&str; 10] =
    ["", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот", "восемьсот", "девятьсот"];

/// Grammatical gender of the counted noun: "одна тысяча", "один рубль".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gender {
    Masculine,
    Feminine,
}

/// The noun's form after `n`: 1 → `one`, 2–4 → `few`, else `many` (21 рубль, 22 рубля, 25 рублей).
pub fn plural<'a>(n: u64, one: &'a str, few: &'a str, many: &'a str) -> &'a str {
    let (n10, n100) = (n % 10, n % 100);
    if (11..=14).contains(&n100) {
        many
    } else if n10 == 1 {
        one
    } else if (2..=4).contains(&n10) {
        few
    } else {
        many
    }
}

/// 0..=999 in words.
fn triple(n: u64, gender: Gender, out: &mut Vec<String>) {
    let units = if gender == Gender::Feminine { &UNITS_F } else { &UNITS_M };
    let (h, rest) = ((n / 100) as usize, n % 100);
    if h > 0 {
        out.push(HUNDREDS[h].to_owned());
    }
    if (10..20).contains(&rest) {
        out.push(TEENS[(rest - 10) as usize].to_owned());
        return;
    }
    let (t, u) = ((rest / 10) as usize, (rest % 10) as usize);
    if t > 0 {
        out.push(TENS[t].to_owned());
    }
    if u > 0 {
        out.push(units[u].to_owned());
    }
}

/// A whole number in words, lower case ("сто двадцать одна тысяча пять").
pub fn number_in_words(n: u64) -> String {
    if n == 0 {
        return "ноль".to_owned();
    }
    const SCALES: [(u64, Gender, [&str; 3]); 4] = [
        (1_000_000_000_000, Gender::Masculine, ["триллион", "триллиона", "триллионов"]),
        (1_000_000_000, Gender::Masculine, ["миллиард", "миллиарда", "миллиардов"]),
        (1_000_000, Gender::Masculine, ["миллион", "миллиона", "миллионов"]),
        (1_000, Gender::Feminine, ["тысяча", "тысячи", "тысяч"]),
    ];
    let mut out = Vec::new();
    let mut rest = n;
    for (scale, gender, forms) in SCALES {
        let count = rest / scale;
        if count > 0 {
            // Counts of a scale can themselves exceed 999 only for the largest one.
            if count > 999 {
                out.push(number_in_words(count));
            } else {
                triple(count, gender, &mut out);
            }
            out.push(plural(count, forms[0], forms[1], forms[2]).to_owned());
            rest %= scale;
        }
    }
    triple(rest, Gender::Masculine, &mut out);
    out.join(" ")
}

/// The amount in words for an invoice: "Сто двадцать один рубль 05 копеек".
/// Roubles are spelled out; other currencies name their ISO code after the words.
pub fn amount_in_words(amount: Money, currency: &str) -> String {
    let minor = amount.minor().unsigned_abs();
    let (whole, cents) = (minor / 100, minor % 100);
    let words = number_in_words(whole);
    let mut text = if currency == "RUB" {
        format!(
            "{words} {} {cents:02} {}",
            plural(whole, "рубль", "рубля", "рублей"),
            plural(cents, "копейка", "копейки", "копеек")
        )
    } else {
        format!("{words} {currency} {cents:02}/100")
    };
    if amount.is_negative() {
        text = format!("минус {text}");
    }
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

// Amounts in tests are written roubles_kopecks (`100_01` is 100.01).
#[cfg(test)]
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;

    #[test]
    fn numbers_agree_in_gender_and_case() {
        assert_eq!(number_in_words(0), "ноль");
        assert_eq!(number_in_words(1), "один");
        assert_eq!(number_in_words(11), "одиннадцать");
        assert_eq!(number_in_words(21), "двадцать один");
        assert_eq!(number_in_words(1_000), "одна тысяча");
        assert_eq!(number_in_words(2_000), "две тысячи");
        assert_eq!(number_in_words(5_000), "пять тысяч");
        assert_eq!(number_in_words(11_000), "одиннадцать тысяч");
        assert_eq!(number_in_words(21_000), "двадцать одна тысяча");
        assert_eq!(number_in_words(112_512), "сто двенадцать тысяч пятьсот двенадцать");
        assert_eq!(number_in_words(1_002_003), "один миллион две тысячи три");
        assert_eq!(number_in_words(2_000_000_000), "два миллиарда");
    }

    #[test]
    fn invoice_totals_in_words() {
        assert_eq!(
            amount_in_words(Money::from_minor(12_100_05), "RUB"),
            "Двенадцать тысяч сто рублей 05 копеек"
        );
        assert_eq!(amount_in_words(Money::from_minor(2_101), "RUB"), "Двадцать один рубль 01 копейка");
        assert_eq!(amount_in_words(Money::from_minor(322), "RUB"), "Три рубля 22 копейки");
        assert_eq!(amount_in_words(Money::from_minor(1_114), "RUB"), "Одиннадцать рублей 14 копеек");
        assert_eq!(amount_in_words(Money::from_minor(0), "RUB"), "Ноль рублей 00 копеек");
        assert_eq!(amount_in_words(Money::from_minor(150_00), "USD"), "Сто пятьдесят USD 00/100");
    }
}

#[cfg(test)]
mod edge_tests {
    use super::*;

    #[test]
    fn a_thousand_trillions_are_counted_in_words_too() {
        assert_eq!(number_in_words(1_000_000_000_000_000), "одна тысяча триллионов");
        assert_eq!(number_in_words(999_000_000_000_000), "девятьсот девяносто девять триллионов");
    }
}
