//! Interest e-mails: recorded before they are tried, claimed for a retry,
//! and found again by the Message-ID a reply names.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::queries::PageQuery;
use crate::rows::*;
use crate::schema::*;
use crate::types::DbUuid;
use crm_domain::status::{EmailDirection, EmailStatus};

pub fn insert_email(conn: &mut DbConnection, row: &InterestEmailRow) -> QueryResult<()> {
    diesel::insert_into(interest_emails::table).values(row).execute(conn).map(|_| ())
}

pub fn find_email(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<InterestEmailRow>> {
    interest_emails::table.find(id).select(InterestEmailRow::as_select()).first(conn).optional()
}

pub fn update_email(conn: &mut DbConnection, row: &InterestEmailRow) -> QueryResult<usize> {
    diesel::update(interest_emails::table.find(row.id)).set(row).execute(conn)
}

/// Claims an outgoing e-mail for a new attempt: a failed one, or one whose
/// attempt went quiet before `stale_before` (a crash). 0 when another attempt holds it.
pub fn claim_email(
    conn: &mut DbConnection,
    id: DbUuid,
    now: chrono::NaiveDateTime,
    stale_before: chrono::NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        interest_emails::table
            .find(id)
            .filter(interest_emails::direction.eq(EmailDirection::Outgoing.as_str()))
            .filter(
                interest_emails::status.eq(EmailStatus::Failed.as_str()).or(interest_emails::status
                    .eq(EmailStatus::Pending.as_str())
                    .and(interest_emails::updated_at.lt(stale_before))),
            ),
    )
    .set((
        interest_emails::status.eq(EmailStatus::Pending.as_str()),
        interest_emails::updated_at.eq(now),
        interest_emails::version.eq(interest_emails::version + 1),
    ))
    .execute(conn)
}

/// An interest's e-mails, both ways, a page at a time in id order.
pub fn emails_of_page(
    conn: &mut DbConnection,
    interest: DbUuid,
    page: PageQuery,
) -> QueryResult<Vec<InterestEmailRow>> {
    let mut q = interest_emails::table.filter(interest_emails::interest_id.eq(interest)).into_boxed();
    if let Some(after) = page.after {
        q = q.filter(interest_emails::id.gt(after));
    }
    q.order(interest_emails::id.asc()).limit(page.limit).select(InterestEmailRow::as_select()).load(conn)
}

/// The interest a reply belongs to: the first of `message_ids` (as the reply
/// names them, nearest first) that is an e-mail of an interest, sent or
/// received, or an invoice e-mailed from one of its orders.
pub fn interest_of_message(conn: &mut DbConnection, message_ids: &[String]) -> QueryResult<Option<DbUuid>> {
    for id in message_ids {
        let found = interest_emails::table
            .filter(interest_emails::message_id.eq(id))
            .select(interest_emails::interest_id)
            .first::<DbUuid>(conn)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
        let found = invoice_sendings::table
            .inner_join(orders::table)
            .filter(invoice_sendings::message_id.eq(id))
            .select(orders::interest_id)
            .first::<DbUuid>(conn)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// The e-mail lead whose own message one of `message_ids` names.
pub fn lead_of_message(conn: &mut DbConnection, message_ids: &[String]) -> QueryResult<Option<LeadRow>> {
    if message_ids.is_empty() {
        return Ok(None);
    }
    leads::table
        .filter(leads::channel.eq("email"))
        .filter(leads::external_id.eq_any(message_ids))
        .select(LeadRow::as_select())
        .first(conn)
        .optional()
}

/// The incoming e-mail recorded for a message, when one was.
pub fn incoming_email_by_message(
    conn: &mut DbConnection,
    message_id: &str,
) -> QueryResult<Option<InterestEmailRow>> {
    interest_emails::table
        .filter(interest_emails::message_id.eq(message_id))
        .filter(interest_emails::direction.eq(EmailDirection::Incoming.as_str()))
        .select(InterestEmailRow::as_select())
        .first(conn)
        .optional()
}
