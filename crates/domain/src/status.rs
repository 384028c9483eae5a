//! Every fixed set of words a record's status or state can hold, as types:
//! each knows its words, reads them back, and refuses any other. Rows, use
//! cases and the API's DTOs use these; the database keeps the words.

use std::fmt;

/// A closed set of words stored as text.
pub trait Word: Copy + Eq + fmt::Debug + Send + Sync + Sized + 'static {
    /// What the set is, for messages (`order status`).
    const WHAT: &'static str;
    /// Every value, in the order the API documents them.
    const ALL: &'static [Self];

    fn as_str(self) -> &'static str;

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == s)
    }
}

/// Declares a [`Word`] enum: `words! { /// doc\n Name "what" { Variant = "word", … } }`.
macro_rules! words {
    ($($(#[$m:meta])* $name:ident $what:literal { $($(#[$vm:meta])* $variant:ident = $word:literal),+ $(,)? })+) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $variant),+
        }

        impl Word for $name {
            const WHAT: &'static str = $what;
            const ALL: &'static [Self] = &[$($name::$variant),+];

            fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                Word::as_str(self)
            }

            pub fn parse(s: &str) -> Option<Self> {
                <Self as Word>::parse(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(Word::as_str(*self))
            }
        }
    )+};
}

words! {
    /// A webhook delivery: waiting (or between attempts), delivered, or
    /// given up on after the retry schedule.
    DeliveryStatus "delivery status" { Pending = "pending", Succeeded = "succeeded", Dead = "dead" }

    /// An order's life: drafted, posted (confirmed), or cancelled.
    OrderStatus "order status" { Draft = "draft", Confirmed = "confirmed", Cancelled = "cancelled" }

    /// A quote: `expired` is how an open quote past its validity reads.
    QuoteStatus "quote status" {
        Draft = "draft", Sent = "sent", Approved = "approved", Rejected = "rejected", Expired = "expired",
    }

    /// An agreement with a client.
    AgreementStatus "agreement status" { Active = "active", Closed = "closed" }

    /// A payment: posted when registered, cancelled when taken back.
    PaymentStatus "payment status" { Posted = "posted", Cancelled = "cancelled" }

    /// A shipment on its way to the client.
    ShipmentStatus "shipment status" {
        Preparing = "preparing", InTransit = "in_transit", Delivered = "delivered", Returned = "returned",
        Cancelled = "cancelled",
    }

    /// An instalment of a payment schedule, judged from the order's payments.
    InstalmentStatus "instalment status" {
        Paid = "paid", PartiallyPaid = "partially_paid", Due = "due", Overdue = "overdue",
    }

    /// One attempt to e-mail an invoice.
    SendingStatus "invoice sending status" { Pending = "pending", Sent = "sent", Failed = "failed" }

    /// An interest's e-mail: ours waiting, sent or failed, or a reply received.
    EmailStatus "e-mail status" { Pending = "pending", Sent = "sent", Failed = "failed", Received = "received" }

    /// Whether an interest's e-mail went out from us or came in.
    EmailDirection "e-mail direction" { Outgoing = "outgoing", Incoming = "incoming" }

    /// A lead in the inbox, and what became of it.
    LeadStatus "lead status" { New = "new", Accepted = "accepted", Linked = "linked", Rejected = "rejected" }

    /// A client's standing.
    ClientStatus "client status" { Prospect = "prospect", Active = "active", Inactive = "inactive" }

    /// An interaction with a client.
    InteractionStatus "interaction status" { Planned = "planned", Done = "done", Cancelled = "cancelled" }

    /// A task.
    TaskStatus "task status" { Open = "open", Done = "done", Cancelled = "cancelled" }

    /// A call event from the telephony system.
    CallStatus "call status" { Answered = "answered", Missed = "missed" }

    /// An `Idempotency-Key` record: in flight, its change committed, its reply stored.
    IdempotencyState "idempotency state" { InFlight = "in_flight", Applied = "applied", Done = "done" }

    /// Where an interest is in its life; `awaiting_loss_approval`: a loss was
    /// requested and the approver decides.
    InterestState "interest state" {
        Active = "active", AwaitingLossApproval = "awaiting_loss_approval", Won = "won", Lost = "lost",
    }

    /// What an entry on an interest's timeline records.
    TimelineKind "timeline entry kind" {
        Created = "created", Updated = "updated", StageChanged = "stage_changed",
        LossRequested = "loss_requested", LossApproved = "loss_approved", LossReturned = "loss_returned",
        LeadAccepted = "lead_accepted", LeadLinked = "lead_linked",
        InteractionPlanned = "interaction_planned", InteractionUpdated = "interaction_updated",
        InteractionCompleted = "interaction_completed", InteractionCancelled = "interaction_cancelled",
        TaskCreated = "task_created", TaskUpdated = "task_updated", TaskCompleted = "task_completed",
        TaskCancelled = "task_cancelled", TaskClosed = "task_closed",
        QuoteCreated = "quote_created", QuoteDraft = "quote_draft", QuoteSent = "quote_sent",
        QuoteRejected = "quote_rejected", QuoteApproved = "quote_approved",
        OrderCreated = "order_created", OrderUpdated = "order_updated", OrderConfirmed = "order_confirmed",
        OrderCancelled = "order_cancelled",
        PaymentRegistered = "payment_registered", PaymentCancelled = "payment_cancelled",
        PaymentOverdue = "payment_overdue",
        ShipmentMade = "shipment_made", ShipmentUpdated = "shipment_updated", ShipmentCancelled = "shipment_cancelled",
        InvoiceSent = "invoice_sent", InvoiceSendFailed = "invoice_send_failed",
        RelatedDocumentAdded = "related_document_added",
        EmailSent = "email_sent", EmailSendFailed = "email_send_failed", EmailReceived = "email_received",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<W: Word>() -> Vec<&'static str> {
        for w in W::ALL {
            assert_eq!(W::parse(w.as_str()), Some(*w), "{}", W::WHAT);
        }
        assert_eq!(W::parse(""), None);
        assert_eq!(W::parse("nonsense"), None);
        let upper = W::ALL[0].as_str().to_uppercase();
        assert_eq!(W::parse(&upper), None, "words are exact");
        W::ALL.iter().map(|w| w.as_str()).collect()
    }

    #[test]
    fn every_word_reads_back_and_nothing_else_does() {
        assert_eq!(round_trip::<OrderStatus>(), ["draft", "confirmed", "cancelled"]);
        assert_eq!(round_trip::<QuoteStatus>(), ["draft", "sent", "approved", "rejected", "expired"]);
        assert_eq!(round_trip::<AgreementStatus>(), ["active", "closed"]);
        assert_eq!(round_trip::<PaymentStatus>(), ["posted", "cancelled"]);
        assert_eq!(
            round_trip::<ShipmentStatus>(),
            ["preparing", "in_transit", "delivered", "returned", "cancelled"]
        );
        assert_eq!(round_trip::<InstalmentStatus>(), ["paid", "partially_paid", "due", "overdue"]);
        assert_eq!(round_trip::<SendingStatus>(), ["pending", "sent", "failed"]);
        assert_eq!(round_trip::<LeadStatus>(), ["new", "accepted", "linked", "rejected"]);
        assert_eq!(round_trip::<ClientStatus>(), ["prospect", "active", "inactive"]);
        assert_eq!(round_trip::<InteractionStatus>(), ["planned", "done", "cancelled"]);
        assert_eq!(round_trip::<TaskStatus>(), ["open", "done", "cancelled"]);
        assert_eq!(round_trip::<CallStatus>(), ["answered", "missed"]);
        assert_eq!(round_trip::<IdempotencyState>(), ["in_flight", "applied", "done"]);
        assert_eq!(round_trip::<InterestState>(), ["active", "awaiting_loss_approval", "won", "lost"]);
        assert_eq!(round_trip::<EmailStatus>(), ["pending", "sent", "failed", "received"]);
        assert_eq!(round_trip::<EmailDirection>(), ["outgoing", "incoming"]);
        assert_eq!(round_trip::<TimelineKind>().len(), 38);
        assert_eq!(TimelineKind::StageChanged.as_str(), "stage_changed");
        assert_eq!(TimelineKind::RelatedDocumentAdded.as_str(), "related_document_added");
        assert_eq!(OrderStatus::Confirmed.to_string(), "confirmed");
    }
}
