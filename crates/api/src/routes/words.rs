//! The API's side of every status set in `crm_domain::status`: the same
//! words, as enums the spec publishes, so a generated client knows them.

use crm_domain::status::{
    AgreementStatus, CallStatus, ClientStatus, EmailDirection, EmailStatus, InstalmentStatus,
    InteractionStatus, LeadStatus, OrderStatus, PaymentStatus, QuoteStatus, SendingStatus, ShipmentStatus,
    TaskStatus, TimelineKind,
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

        impl $dto {
            /// The domain's word, as the app's filters and checks take it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($dto::$v => $dom::$v.as_str()),+
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
    /// An interest's e-mail: ours waiting, sent or failed, or a reply received.
    EmailStatusDto => EmailStatus { Pending, Sent, Failed, Received }
    /// Whether an interest's e-mail went out from us or came in.
    EmailDirectionDto => EmailDirection { Outgoing, Incoming }
    /// A lead and what became of it.
    LeadStatusDto => LeadStatus { New, Accepted, Linked, Rejected }
    /// A client's standing.
    ClientStatusDto => ClientStatus { Prospect, Active, Inactive }
    /// An interaction.
    InteractionStatusDto => InteractionStatus { Planned, Done, Cancelled }
    /// A task.
    TaskStatusDto => TaskStatus { Open, Done, Cancelled }
    /// A call reported by the telephony system.
    CallStatusDto => CallStatus { Answered, Missed }
    /// What an entry on an interest's timeline records.
    TimelineKindDto => TimelineKind {
        Created, Updated, StageChanged, LossRequested, LossApproved, LossReturned, LeadAccepted, LeadLinked,
        InteractionPlanned, InteractionUpdated, InteractionCompleted, InteractionCancelled,
        TaskCreated, TaskUpdated, TaskCompleted, TaskCancelled, TaskClosed,
        QuoteCreated, QuoteDraft, QuoteSent, QuoteRejected, QuoteApproved,
        OrderCreated, OrderUpdated, OrderConfirmed, OrderCancelled,
        PaymentRegistered, PaymentCancelled, PaymentOverdue,
        ShipmentMade, ShipmentUpdated, ShipmentCancelled, InvoiceSent, InvoiceSendFailed, RelatedDocumentAdded,
        EmailSent, EmailSendFailed, EmailReceived,
    }
}

/// Value sets the app checks as words of their own (a client's kind, a
/// channel…): published as enums so a generated client knows them. Request
/// fields keep their text type and the app's check, which answers 400 naming
/// the field; query filters deserialize into these, so an unknown value is 400.
macro_rules! spec_words {
    ($($(#[$m:meta])* $dto:ident { $($v:ident = $w:tt),+ $(,)? })+) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        pub enum $dto {
            $(#[serde(rename = $w)] $v),+
        }

        impl $dto {
            pub const ALL: &'static [Self] = &[$($dto::$v),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($dto::$v => $w),+
                }
            }
        }
    )+};
}

spec_words! {
    /// A client: a company (10-digit ИНН) or a person (12-digit ИНН).
    ClientKindDto { Company = "company", Person = "person" }
    /// What a duplicate candidate is.
    PartyKindDto { Client = "client", Contact = "contact" }
    /// Why a candidate matched.
    MatchReasonKindDto {
        SamePhone = "same_phone", SameEmail = "same_email", SameTaxId = "same_tax_id", SimilarName = "similar_name",
    }
    /// Who made a change: a user, an API key, or the system (timed rules, channels).
    ActorKindDto { User = "user", ApiKey = "api_key", System = "system" }
    /// A channel leads arrive through.
    ChannelKindDto { Email = "email", Telegram = "telegram", Vk = "vk", Phone = "phone", Form = "form" }
    /// Where a lead came from: a channel, by hand, or another source.
    LeadChannelDto {
        Manual = "manual", Email = "email", Telegram = "telegram", Vk = "vk", Phone = "phone", Form = "form",
        Other = "other",
    }
    /// A call's direction.
    CallDirectionDto { Inbound = "inbound", Outbound = "outbound" }
    /// Why a lead is rejected.
    RejectReasonDto { Spam = "spam", Duplicate = "duplicate", NotOurBusiness = "not_our_business", Other = "other" }
    /// A purchase document procurement makes for an order.
    RelatedKindDto { SupplierOrder = "supplier_order", GoodsReceipt = "goods_receipt", ReceiptOrder = "receipt_order" }
    /// When an agreement's payment term falls due.
    PaymentTriggerDto {
        OnConfirmation = "on_confirmation", BeforeShipment = "before_shipment", AfterShipment = "after_shipment",
    }
    /// When an instalment falls due: from an agreement's term, or a date set by hand.
    InstalmentTriggerDto {
        OnConfirmation = "on_confirmation", BeforeShipment = "before_shipment", AfterShipment = "after_shipment",
        FixedDate = "fixed_date",
    }
    /// A shipment's document.
    ShipmentKindDto { SalesDocument = "sales_document", WarehouseIssue = "warehouse_issue" }
    /// The statuses a shipment may be set to by hand (cancelling has its own operation).
    ShipmentEditStatusDto {
        Preparing = "preparing", InTransit = "in_transit", Delivered = "delivered", Returned = "returned",
    }
    /// The statuses a quote may be set to by hand (approval has its own operation).
    QuoteEditStatusDto { Draft = "draft", Sent = "sent", Rejected = "rejected" }
    /// A document in the document tree.
    DocumentKindDto {
        Interest = "interest", Quote = "quote", Order = "order", Invoice = "invoice", Payment = "payment",
        Shipment = "shipment", SupplierOrder = "supplier_order", GoodsReceipt = "goods_receipt",
        ReceiptOrder = "receipt_order",
    }
    /// An API key's standing.
    ApiKeyStatusDto { Active = "active", Expired = "expired", Revoked = "revoked" }
    /// What an API key may do.
    ScopeDto {
        UsersRead = "users:read", DepartmentsRead = "departments:read", LeadsRead = "leads:read",
        LeadsWrite = "leads:write", ClientsRead = "clients:read", ClientsWrite = "clients:write",
        InterestsRead = "interests:read", InterestsWrite = "interests:write", TasksRead = "tasks:read",
        TasksWrite = "tasks:write", OrdersRead = "orders:read", OrdersWrite = "orders:write",
        PaymentsRead = "payments:read", PaymentsWrite = "payments:write", ShipmentsRead = "shipments:read",
        ShipmentsWrite = "shipments:write", PurchasingRead = "purchasing:read", PurchasingWrite = "purchasing:write",
    }
    /// The tasks list's status filter: a task status, or `all`.
    TaskStatusFilterDto { Open = "open", Done = "done", Cancelled = "cancelled", All = "all" }
    /// The interests list's state filter: `open` is active or awaiting approval.
    InterestStateFilterDto {
        Open = "open", Active = "active", AwaitingLossApproval = "awaiting_loss_approval", Won = "won", Lost = "lost",
    }
    /// Always `Bearer`.
    TokenTypeDto { Bearer = "Bearer" }
    /// A health answer.
    HealthStatusDto { Ok = "ok" }
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
        same_words::<EmailStatus, EmailStatusDto>();
        same_words::<EmailDirection, EmailDirectionDto>();
        same_words::<LeadStatus, LeadStatusDto>();
        same_words::<ClientStatus, ClientStatusDto>();
        same_words::<InteractionStatus, InteractionStatusDto>();
        same_words::<TaskStatus, TaskStatusDto>();
    }
}
