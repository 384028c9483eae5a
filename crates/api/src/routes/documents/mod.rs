//! Routes of the documents area: catalogue, quotes, agreements, orders,
//! payments, shipments, invoices, purchasing and the document tree.

pub mod agreements;
pub mod catalog;
pub mod invoices;
pub mod orders;
pub mod payments;
pub mod purchasing;
pub mod quotes;
pub mod shipments;
pub mod tree;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(agreements::configure)
        .configure(catalog::configure)
        .configure(invoices::configure)
        .configure(orders::configure)
        .configure(payments::configure)
        .configure(purchasing::configure)
        .configure(quotes::configure)
        .configure(shipments::configure)
        .configure(tree::configure);
}
