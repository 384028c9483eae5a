//! The paper of a sale: catalogue, quotes, agreements, orders, payments,
//! shipments, invoices, purchasing and the document tree. Uses `sales`,
//! `parties`, `identity` and `platform`; raises domain events that
//! `sales::interests::events` applies in the caller's transaction.

pub mod agreements;
pub mod catalog;
pub mod emails;
pub mod invoices;
pub mod lines;
pub mod orders;
pub mod payments;
pub mod purchasing;
pub mod quotes;
pub mod schedule;
pub mod shipments;
