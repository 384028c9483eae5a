//! Queries of the documents area: catalogue and orders as their own modules;
//! quotes, agreements, schedules, invoice sendings and purchasing documents
//! read through this module.

mod agreements;
pub mod catalog;
mod invoices;
pub mod orders;
mod purchasing;
mod quotes;
mod schedule;

pub use agreements::*;
pub use invoices::*;
pub use orders::{delete_lines_of, payments_of_orders, shipments_of_orders};
pub use purchasing::*;
pub use quotes::*;
pub use schedule::*;
