//! The client's approval of one variant.

use crm_domain::events::EventType;
use crm_domain::status::QuoteStatus;
use crm_domain::status::TimelineKind;
use crm_domain::Money;
use crm_store::queries::documents as dq;
use uuid::Uuid;

use crate::documents::orders::today;

use super::*;
use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::platform::error::{check_version, AppError};
use crate::platform::outbox;
use crate::sales::timeline;
use crate::App;

/// Records the client's choice: the quote is approved with one variant.
pub fn approve_quote(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected: Option<i64>,
    variant: Uuid,
) -> Result<QuoteView, AppError> {
    actor.require(&permissions::WRITE_QUOTES)?;
    let day = today(app);
    let now = app.now();
    app.write(|conn| {
        let mut row = visible_quote(conn, actor, id)?;
        check_version(expected, row.version)?;
        match effective_status(&row, day) {
            QuoteStatus::Draft | QuoteStatus::Sent => {}
            QuoteStatus::Expired => return Err(AppError::rule("quote_valid", format!("quote {} expired on {}", row.number, row.valid_until.date()))),
            s @ (QuoteStatus::Approved | QuoteStatus::Rejected) => {
                return Err(AppError::conflict(None, format!("quote {} is already {s}", row.number)))
            }
        }
        let variants = dq::variants_of(conn, &[row.id])?;
        let Some(chosen) = variants.iter().find(|v| v.id.0 == variant) else {
            return Err(AppError::field("variant_id", "not_of_quote", "not a variant of this quote"));
        };
        row.status = QuoteStatus::Approved.into();
        row.approved_variant_id = Some(chosen.id);
        row.decided_at = Some(now.naive_utc());
        let v = row.version;
        row.version += 1;
        row.updated_at = now.naive_utc();
        if dq::update_quote(conn, &row, v)? != 1 {
            return Err(AppError::PreconditionFailed { expected: v, current: v + 1 });
        }
        timeline(
            conn,
            row.interest_id,
            Some(actor),
            now,
            TimelineKind::QuoteApproved,
            format!("Quote {} approved: variant \"{}\" for {}", row.number, chosen.name, Money::from_minor(chosen.total_minor)),
            serde_json::json!({"quote_id": id, "variant_id": variant, "total": Money::from_minor(chosen.total_minor).to_string()}),
        )?;
        outbox::record(conn, now, Some(actor), EventType::QuoteApproved, "quote", id, serde_json::json!({"id": id, "variant_id": variant}))?;
        quote_view(conn, row, day)
    })
}
