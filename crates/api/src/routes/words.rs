//! The API's side of every status set in `crm_domain::status`: the same
//! words, as enums the spec publishes, so a generated client knows them.

use crm_domain::status::{
    AgreementStatus, ClientStatus, InstalmentStatus, InteractionStatus, LeadStatus, OrderStatus,
    PaymentStatus, QuoteStatus, SendingStatus, ShipmentStatus, TaskStatus,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! word_dtos {
    ($($(#[$m:meta])* $dto:ident => $dom:ident { $($v:ident),+ $(,)? })+) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $dto {
            $($v),+
        }

        impl From<$dom> for $dto {
            fn from(w: $dom) -> Self {
                match w {
                    $($dom::$v => $dto::$v),+
                }
            }
        }
    )+};
}

word_dtos! {
    /// An order: `draft`, `confirmed` (posted) or `cancelled`.
    OrderStatusDto => OrderStatus { Draft, Confirmed, Cancelled }
    /// A quote; `expired` is an open quote past its `valid_until`.
    QuoteStatusDto => QuoteStatus { Draft, Sent, Approved, Rejected, Expired }
    /// An agreement.
    AgreementStatusDto => AgreementStatus { Active, Closed }
    /// A payment: `posted`, or `cancelled` when taken back.
    PaymentStatusDto => PaymentStatus { Posted, Cancelled }
    /// A shipment on its way.
    ShipmentStatusDto => ShipmentStatus { Preparing, InTransit, Delivered, Returned, Cancelled }
    /// An instalment, judged from the order's payments and the due date.
    InstalmentStatusDto => InstalmentStatus { Paid, PartiallyPaid, Due, Overdue }
    /// One attempt to e-mail an invoice.
    SendingStatusDto => SendingStatus { Pending, Sent, Failed }
    /// A lead and what became of it.
    LeadStatusDto => LeadStatus { New, Accepted, Linked, Rejected }
    /// A client's standing.
    ClientStatusDto => ClientStatus { Prospect, Active, Inactive }
    /// An interaction.
    InteractionStatusDto => InteractionStatus { Planned, Done, Cancelled }
    /// A task.
    TaskStatusDto => TaskStatus { Open, Done, Cancelled }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_domain::status::Word;

    fn same_words<W: Word, D: From<W> + Serialize>() {
        for w in W::ALL {
            let json = serde_json::to_value(D::from(*w)).unwrap();
            assert_eq!(json, serde_json::json!(w.as_str()), "{}", W::WHAT);
        }
    }

    #[test]
    fn every_dto_writes_the_domain_word() {
        same_words::<OrderStatus, OrderStatusDto>();
        same_words::<QuoteStatus, QuoteStatusDto>();
        same_words::<AgreementStatus, AgreementStatusDto>();
        same_words::<PaymentStatus, PaymentStatusDto>();
        same_words::<ShipmentStatus, ShipmentStatusDto>();
        same_words::<InstalmentStatus, InstalmentStatusDto>();
        same_words::<SendingStatus, SendingStatusDto>();
        same_words::<LeadStatus, LeadStatusDto>();
        same_words::<ClientStatus, ClientStatusDto>();
        same_words::<InteractionStatus, InteractionStatusDto>();
        same_words::<TaskStatus, TaskStatusDto>();
    }
}
