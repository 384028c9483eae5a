//! Reports as files: every report also answers as CSV (the `csv` crate) and
//! as an Excel workbook (`rust_xlsxwriter`), chosen by `?format=` or the
//! `Accept` header. A file opens with the report's name and filters, then a
//! header row and one row per line of the report; money gets a column per
//! currency, so no two currencies are ever added in a spreadsheet either.

use std::collections::BTreeSet;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::routes::sales::board::CurrencySumDto;

pub const CSV: &str = "text/csv";
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// How a report answers: JSON (default), CSV or an Excel workbook. Without
/// it, `Accept: text/csv` or the workbook's media type chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Json,
    Csv,
    Xlsx,
}

/// The format asked for: the parameter first, then the `Accept` header.
pub fn negotiate(asked: Option<ExportFormat>, req: &HttpRequest) -> ExportFormat {
    if let Some(f) = asked {
        return f;
    }
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if accept.contains(XLSX) {
        ExportFormat::Xlsx
    } else if accept.contains(CSV) {
        ExportFormat::Csv
    } else {
        ExportFormat::Json
    }
}

/// One cell of a report's table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Count(usize),
    /// A percent or a number of days.
    Number(f64),
    /// A decimal amount as the API writes it (`"1234.50"`).
    Money(String),
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_owned())
    }
}

impl From<usize> for Cell {
    fn from(n: usize) -> Self {
        Cell::Count(n)
    }
}

impl From<Option<f64>> for Cell {
    fn from(n: Option<f64>) -> Self {
        n.map_or(Cell::Empty, Cell::Number)
    }
}

/// A report laid out as a table, with what it was asked for above it.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// The report's name, also the file's and the sheet's.
    pub name: &'static str,
    pub filters: Vec<(&'static str, String)>,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// The currencies of some money lists, for one column each.
pub fn currencies<'a>(lists: impl IntoIterator<Item = &'a Vec<CurrencySumDto>>) -> Vec<String> {
    let set: BTreeSet<&str> = lists.into_iter().flatten().map(|s| s.currency.as_str()).collect();
    set.into_iter().map(str::to_owned).collect()
}

/// Column titles for a money list: `potential RUB`, `potential USD`.
pub fn money_header(title: &str, currencies: &[String]) -> Vec<String> {
    currencies.iter().map(|c| format!("{title} {c}")).collect()
}

/// A money list's cells in the order of `currencies` (a currency it lacks is 0).
pub fn money_cells(sums: &[CurrencySumDto], currencies: &[String]) -> Vec<Cell> {
    currencies
        .iter()
        .map(|c| {
            Cell::Money(
                sums.iter().find(|s| &s.currency == c).map_or_else(|| "0.00".to_owned(), |s| s.sum.clone()),
            )
        })
        .collect()
}

impl Table {
    fn text(cell: &Cell) -> String {
        match cell {
            // Text people typed (a deal's title, a name) that a spreadsheet
            // would run as a formula is written with a leading apostrophe,
            // as OWASP advises against CSV injection; numbers are never text.
            Cell::Text(s) if s.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{s}"),
            Cell::Text(s) | Cell::Money(s) => s.clone(),
            Cell::Count(n) => n.to_string(),
            Cell::Number(x) => x.to_string(),
            Cell::Empty => String::new(),
        }
    }

    /// The table as CSV: the name and filters as `key,value` lines, an empty
    /// line, the header, the rows.
    pub fn csv(&self) -> Result<Vec<u8>, ApiError> {
        let fault = |e: csv::Error| ApiError::App(crm_app::AppError::internal(format!("csv: {e}")));
        let mut out = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
        out.write_record(["report", self.name]).map_err(fault)?;
        for (key, value) in &self.filters {
            out.write_record([*key, value.as_str()]).map_err(fault)?;
        }
        out.write_record([""]).map_err(fault)?;
        out.write_record(&self.header).map_err(fault)?;
        for row in &self.rows {
            out.write_record(row.iter().map(Self::text)).map_err(fault)?;
        }
        out.into_inner().map_err(|e| ApiError::App(crm_app::AppError::internal(format!("csv: {e}"))))
    }

    /// The table as a workbook of one sheet, laid out as the CSV; counts,
    /// percents, days and amounts are numbers (amounts with two decimals).
    pub fn xlsx(&self) -> Result<Vec<u8>, ApiError> {
        use rust_xlsxwriter::{Format, Workbook};
        let fault =
            |e: rust_xlsxwriter::XlsxError| ApiError::App(crm_app::AppError::internal(format!("xlsx: {e}")));
        let bold = Format::new().set_bold();
        let amount = Format::new().set_num_format("#,##0.00");
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name(self.name).map_err(fault)?;
        sheet.write_string_with_format(0, 0, "report", &bold).map_err(fault)?;
        sheet.write_string(0, 1, self.name).map_err(fault)?;
        let mut row: u32 = 1;
        for (key, value) in &self.filters {
            sheet.write_string_with_format(row, 0, *key, &bold).map_err(fault)?;
            sheet.write_string(row, 1, value).map_err(fault)?;
            row += 1;
        }
        row += 1;
        for (col, title) in (0u16..).zip(&self.header) {
            sheet.write_string_with_format(row, col, title, &bold).map_err(fault)?;
        }
        for cells in &self.rows {
            row += 1;
            for (col, cell) in (0u16..).zip(cells) {
                match cell {
                    Cell::Text(s) => sheet.write_string(row, col, s).map(|_| ()),
                    #[allow(clippy::cast_precision_loss)] // counts of deals are far below 2^52
                    Cell::Count(n) => sheet.write_number(row, col, *n as f64).map(|_| ()),
                    Cell::Number(x) => sheet.write_number(row, col, *x).map(|_| ()),
                    // Exact in a float up to 2^53 kopecks; a larger sum stays text, never rounded.
                    Cell::Money(s) => match s.parse::<f64>() {
                        Ok(x) if x.abs() < 9.0e13 => {
                            sheet.write_number_with_format(row, col, x, &amount).map(|_| ())
                        }
                        _ => sheet.write_string(row, col, s).map(|_| ()),
                    },
                    Cell::Empty => Ok(()),
                }
                .map_err(fault)?;
            }
        }
        book.save_to_buffer().map_err(fault)
    }
}

/// The report in the format asked for: JSON as it is, or its table as a file.
pub fn respond<T: Serialize>(
    format: ExportFormat,
    dto: &T,
    table: impl FnOnce(&T) -> Table,
) -> Result<HttpResponse, ApiError> {
    if format == ExportFormat::Json {
        return Ok(HttpResponse::Ok().json(dto));
    }
    let t = table(dto);
    // `funnel-2026-11-01-2026-11-30.csv`: the report and its period.
    let mut file = t.name.to_owned();
    for (key, value) in &t.filters {
        if matches!(*key, "from" | "to") {
            file = format!("{file}-{value}");
        }
    }
    let (bytes, content_type, ext) = match format {
        ExportFormat::Xlsx => (t.xlsx()?, XLSX, "xlsx"),
        _ => (t.csv()?, "text/csv; charset=utf-8", "csv"),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}.{ext}\"")))
        .body(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        Table {
            name: "funnel",
            filters: vec![("from", "2026-11-01".to_owned())],
            header: vec!["stage".into(), "reached".into(), "to_next".into(), "potential RUB".into()],
            rows: vec![vec![
                "request".into(),
                Cell::Count(6),
                Cell::Number(66.7),
                Cell::Money("420000.00".into()),
            ]],
        }
    }

    #[test]
    fn csv_puts_the_filters_above_the_header() {
        let text = String::from_utf8(sample().csv().unwrap()).unwrap();
        assert_eq!(
            text,
            "report,funnel\nfrom,2026-11-01\n\"\"\nstage,reached,to_next,potential RUB\nrequest,6,66.7,420000.00\n"
        );
    }

    #[test]
    fn text_a_spreadsheet_would_run_is_not_a_formula_in_csv() {
        let mut t = sample();
        t.rows = vec![vec![
            "=HYPERLINK(\"http://x\")".into(),
            "+7 916".into(),
            "@SUM(A1)".into(),
            "-1".into(),
            "Chairs".into(),
            Cell::Money("-12.05".into()),
        ]];
        let text = String::from_utf8(t.csv().unwrap()).unwrap();
        let last = text.lines().last().unwrap();
        assert_eq!(last, "\"'=HYPERLINK(\"\"http://x\"\")\",'+7 916,'@SUM(A1),'-1,Chairs,-12.05");
    }

    #[test]
    fn a_workbook_is_written() {
        let bytes = sample().xlsx().unwrap();
        assert_eq!(&bytes[..2], b"PK", "an xlsx is a zip archive");
    }
}
