//! Printable documents (invoice, quote) as PDF, drawn with `printpdf` in
//! DejaVu Sans embedded in the file, so Cyrillic renders the same anywhere.

use printpdf::{
    IndirectFontRef, Line as PdfLine, Mm, PdfDocument, PdfDocumentReference, PdfLayerReference, Point,
};

use crate::platform::error::AppError;

/// DejaVu Sans (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`).
const FONT: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
pub const LEFT: f32 = 15.0;
pub const RIGHT: f32 = 195.0;
const BOTTOM: f32 = 20.0;

fn pdf_err(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("PDF: {e}"))
}

/// A page-by-page writer: a cursor moving down the page, a new page when full.
pub struct Doc {
    doc: PdfDocumentReference,
    font: IndirectFontRef,
    layer: PdfLayerReference,
    /// Distance from the page's bottom, in millimetres.
    pub y: f32,
}

impl Doc {
    pub fn new(title: &str) -> Result<Self, AppError> {
        let (doc, page, layer) = PdfDocument::new(title, Mm(PAGE_W), Mm(PAGE_H), "main");
        let font = doc.add_external_font(std::io::Cursor::new(FONT)).map_err(pdf_err)?;
        let layer = doc.get_page(page).get_layer(layer);
        Ok(Self { doc, font, layer, y: PAGE_H - 15.0 })
    }

    /// Moves down by `mm`, starting a new page when the rest would not fit.
    pub fn down(&mut self, mm: f32) {
        self.y -= mm;
        if self.y < BOTTOM {
            let (page, layer) = self.doc.add_page(Mm(PAGE_W), Mm(PAGE_H), "main");
            self.layer = self.doc.get_page(page).get_layer(layer);
            self.y = PAGE_H - 15.0;
        }
    }

    pub fn text(&self, x: f32, size: f32, s: &str) {
        self.layer.use_text(s, size, Mm(x), Mm(self.y), &self.font);
    }

    /// Text ending at `x` (numbers in table columns); the width is estimated
    /// from DejaVu Sans' advances, exact for digits.
    pub fn right(&self, x: f32, size: f32, s: &str) {
        self.text(x - width_mm(s, size), size, s);
    }

    /// Text wrapped to `max_chars` per line; returns the lines used.
    pub fn wrapped(&mut self, x: f32, size: f32, s: &str, max_chars: usize) -> usize {
        let lines = wrap(s, max_chars);
        for (i, l) in lines.iter().enumerate() {
            if i > 0 {
                self.down(size * 0.45);
            }
            self.text(x, size, l);
        }
        lines.len()
    }

    pub fn rule(&self, x1: f32, x2: f32) {
        let y = self.y;
        self.layer.add_line(PdfLine {
            points: vec![(Point::new(Mm(x1), Mm(y)), false), (Point::new(Mm(x2), Mm(y)), false)],
            is_closed: false,
        });
    }

    pub fn finish(self) -> Result<Vec<u8>, AppError> {
        tidy_cmaps(&self.doc.save_to_bytes().map_err(pdf_err)?)
    }
}

/// printpdf writes `/CMapVersion` and `/WMode` into its ToUnicode maps; they
/// are legal but strict readers (lopdf 0.36's text extraction among them)
/// then give up on the text. Text-only maps need neither, so they are
/// dropped, with comments.
fn tidy_cmaps(pdf: &[u8]) -> Result<Vec<u8>, AppError> {
    use printpdf::lopdf::{Document, Object};
    let mut doc = Document::load_mem(pdf).map_err(pdf_err)?;
    for object in doc.objects.values_mut() {
        let Object::Stream(stream) = object else { continue };
        let content = stream.decompressed_content().unwrap_or_else(|_| stream.content.clone());
        if !content.windows(9).any(|w| w == b"begincmap") {
            continue;
        }
        let text = String::from_utf8_lossy(&content);
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| {
                let l = l.trim_start();
                !(l.starts_with("/CMapVersion") || l.starts_with("/WMode") || l.starts_with('%'))
            })
            .collect();
        stream.set_plain_content(kept.join("\n").into_bytes());
        // Compression only fails on an unusable filter; the plain map is fine then.
        let _ = stream.compress();
    }
    let mut out = Vec::new();
    doc.save_to(&mut out).map_err(pdf_err)?;
    Ok(out)
}

/// Width of `s` at `size` points, in millimetres (DejaVu Sans advances).
fn width_mm(s: &str, size: f32) -> f32 {
    let em: f32 = s
        .chars()
        .map(|c| match c {
            // Advances in em from the font's hmtx table (1303 and 651 of 2048 units).
            '0'..='9' => 0.6362,
            ' ' | '.' | ',' | '\u{a0}' => 0.3179,
            '-' => 0.361,
            c if c.is_uppercase() => 0.70,
            _ => 0.60,
        })
        .sum();
    em * size * 25.4 / 72.0
}

/// Splits on spaces so that no line passes `max` characters (long words are cut).
pub fn wrap(s: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        let mut word = word.to_owned();
        while word.chars().count() > max {
            let head: String = word.chars().take(max).collect();
            word = word.chars().skip(max).collect();
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            lines.push(head);
        }
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > max {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&word);
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// `1234567.8` → `1 234 567,80`, as Russian documents print money.
pub fn rub(m: crm_domain::Money) -> String {
    let abs = m.minor().unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    format!("{}{grouped},{:02}", if m.minor() < 0 { "-" } else { "" }, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_prints_the_russian_way() {
        assert_eq!(rub(crm_domain::Money::from_minor(123_456_780)), "1 234 567,80");
        assert_eq!(rub(crm_domain::Money::from_minor(5)), "0,05");
        assert_eq!(rub(crm_domain::Money::from_minor(100_000)), "1 000,00");
    }

    #[test]
    fn wrapping_keeps_lines_short() {
        assert_eq!(wrap("раз два три", 7), vec!["раз два", "три"]);
        assert_eq!(wrap("", 5), vec![""]);
        assert!(wrap("оченьдлинноеслово", 5).iter().all(|l| l.chars().count() <= 5));
    }
}
