//! Routes of the sales area: scenarios, interests, the board, interactions, tasks and notifications, sales plans, hand-overs, the calendar feed, interest e-mails, absences.

pub mod absences;
pub mod board;
pub mod calendar;
pub mod emails;
pub mod handover;
pub mod interests;
pub mod plans;
pub mod scenarios;
pub mod work;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(scenarios::configure)
        .configure(interests::configure)
        .configure(board::configure)
        .configure(work::configure)
        .configure(plans::configure)
        .configure(handover::configure)
        .configure(calendar::configure)
        .configure(emails::configure)
        .configure(absences::configure);
}
