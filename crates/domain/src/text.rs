//! What text may hold. People type text through the API: a control character
//! in it is a mistake or an attack and is refused. Channels hand over text we
//! cannot send back: their control characters are dropped and counted, so the
//! lead can say what was removed.
//!
//! Tab, line feed and carriage return are text (a textarea sends `\r\n`);
//! every other character of Unicode's `Cc` category (C0, DEL, C1) is not.
//! NUL above all: PostgreSQL cannot store it in `text` at all.

/// True for the characters neither kind of text may keep.
pub fn is_forbidden(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// The first forbidden character of typed text, if any, as `U+XXXX`.
pub fn first_forbidden(s: &str) -> Option<String> {
    s.chars().find(|c| is_forbidden(*c)).map(|c| format!("U+{:04X}", u32::from(c)))
}

/// Text from a channel without its forbidden characters, and how many went.
pub fn clean_inbound(s: &str) -> (String, usize) {
    let mut dropped = 0;
    let kept = s
        .chars()
        .filter(|c| {
            let bad = is_forbidden(*c);
            dropped += usize::from(bad);
            !bad
        })
        .collect();
    (kept, dropped)
}

/// Drops forbidden characters from `s` in place; returns how many went.
pub fn clean_in_place(s: &mut String) -> usize {
    if !s.contains(is_forbidden) {
        return 0;
    }
    let (kept, n) = clean_inbound(s);
    *s = kept;
    n
}

/// The note a lead carries when its channel's text lost characters.
pub fn dropped_note(n: usize) -> String {
    if n == 1 {
        "1 control character removed from the channel's text".to_owned()
    } else {
        format!("{n} control characters removed from the channel's text")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_keeps_tabs_and_line_breaks_and_refuses_other_controls() {
        assert_eq!(first_forbidden("Иван\tПетров\r\nстрока"), None);
        assert_eq!(first_forbidden("a\u{0}b").as_deref(), Some("U+0000"));
        assert_eq!(first_forbidden("a\u{1b}[31m").as_deref(), Some("U+001B"));
        assert_eq!(first_forbidden("del\u{7f}").as_deref(), Some("U+007F"));
        assert_eq!(first_forbidden("c1\u{85}").as_deref(), Some("U+0085"));
        assert_eq!(first_forbidden("emoji 👍 and ё"), None);
    }

    #[test]
    fn inbound_text_drops_controls_and_counts_them() {
        assert_eq!(clean_inbound("Hel\u{0}lo\u{7}\n"), ("Hello\n".to_owned(), 2));
        let mut s = "x\u{0}y\u{0}".to_owned();
        assert_eq!(clean_in_place(&mut s), 2);
        assert_eq!(s, "xy");
        assert_eq!(dropped_note(1), "1 control character removed from the channel's text");
    }
}
