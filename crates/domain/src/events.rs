//! The published catalogue of change-feed events: every event a change can
//! write is one of these, so the feed, the webhooks and the spec's `enum`
//! list the same words.

use std::fmt;

use crate::status::Word;

words! {
    /// What happened to an entity. `<entity>.removed` is never written: the
    /// feed hands it to a reader who saw the entity before a change and may
    /// not see it after (a tombstone), and `webhook.test` only to a webhook.
    EventType "event type" {
        UserCreated = "user.created",
        UserUpdated = "user.updated",
        UserDeactivated = "user.deactivated",
        DepartmentCreated = "department.created",
        DepartmentUpdated = "department.updated",
        ApiKeyCreated = "api_key.created",
        ApiKeyRevoked = "api_key.revoked",
        ScenarioCreated = "scenario.created",
        ScenarioUpdated = "scenario.updated",
        LossReasonCreated = "loss_reason.created",
        LossReasonUpdated = "loss_reason.updated",
        ChannelCreated = "channel.created",
        ChannelDeactivated = "channel.deactivated",
        LeadReceived = "lead.received",
        LeadAccepted = "lead.accepted",
        LeadLinked = "lead.linked",
        LeadRejected = "lead.rejected",
        LeadRemoved = "lead.removed",
        ClientCreated = "client.created",
        ClientUpdated = "client.updated",
        ClientRemoved = "client.removed",
        ContactCreated = "contact.created",
        ContactUpdated = "contact.updated",
        ContactRemoved = "contact.removed",
        InterestCreated = "interest.created",
        InterestUpdated = "interest.updated",
        InterestStageChanged = "interest.stage_changed",
        InterestLossRequested = "interest.loss_requested",
        InterestLossApproved = "interest.loss_approved",
        InterestLossReturned = "interest.loss_returned",
        InterestRemoved = "interest.removed",
        TaskCreated = "task.created",
        TaskUpdated = "task.updated",
        TaskCompleted = "task.completed",
        TaskCancelled = "task.cancelled",
        TaskRemoved = "task.removed",
        InteractionCreated = "interaction.created",
        InteractionRemoved = "interaction.removed",
        ProductCreated = "product.created",
        ProductUpdated = "product.updated",
        OrganizationUpdated = "organization.updated",
        AgreementCreated = "agreement.created",
        AgreementUpdated = "agreement.updated",
        AgreementRemoved = "agreement.removed",
        QuoteCreated = "quote.created",
        QuoteUpdated = "quote.updated",
        QuoteApproved = "quote.approved",
        QuoteRemoved = "quote.removed",
        OrderCreated = "order.created",
        OrderUpdated = "order.updated",
        OrderConfirmed = "order.confirmed",
        OrderCancelled = "order.cancelled",
        OrderPaymentOverdue = "order.payment_overdue",
        InvoiceSent = "invoice.sent",
        OrderRemoved = "order.removed",
        PaymentRegistered = "payment.registered",
        PaymentCancelled = "payment.cancelled",
        PaymentRemoved = "payment.removed",
        ShipmentCreated = "shipment.created",
        ShipmentCancelled = "shipment.cancelled",
        ShipmentRemoved = "shipment.removed",
        RelatedDocumentRecorded = "related_document.recorded",
        RelatedDocumentRemoved = "related_document.removed",
        SalesPlanCreated = "sales_plan.created",
        SalesPlanUpdated = "sales_plan.updated",
        SalesPlanDeleted = "sales_plan.deleted",
        AbsencePlanned = "absence.planned",
        AbsenceStarted = "absence.started",
        AbsenceEnded = "absence.ended",
        AbsenceCancelled = "absence.cancelled",
        ClientDateAdded = "client_date.added",
        ClientDateDeleted = "client_date.deleted",
        WebhookTest = "webhook.test",
    }
}

impl EventType {
    /// The tombstone a reader gets for an entity of `entity_type` that left
    /// their view, if that kind of entity can leave it.
    pub fn removed(entity_type: &str) -> Option<EventType> {
        Some(match entity_type {
            "lead" => EventType::LeadRemoved,
            "client" => EventType::ClientRemoved,
            "contact" => EventType::ContactRemoved,
            "interest" => EventType::InterestRemoved,
            "task" => EventType::TaskRemoved,
            "interaction" => EventType::InteractionRemoved,
            "agreement" => EventType::AgreementRemoved,
            "quote" => EventType::QuoteRemoved,
            "order" => EventType::OrderRemoved,
            "payment" => EventType::PaymentRemoved,
            "shipment" => EventType::ShipmentRemoved,
            "related_document" => EventType::RelatedDocumentRemoved,
            _ => return None,
        })
    }

    /// Whether this event brings an entity of `entity_type` into being, so
    /// that none of that entity's events can come before it (the feed then
    /// need not look for one). `related_document.recorded` is written on
    /// the order, which existed before it, and so does not count.
    pub fn begins(self, entity_type: &str) -> bool {
        use EventType::*;
        let creates = matches!(
            self,
            UserCreated
                | DepartmentCreated
                | ApiKeyCreated
                | ScenarioCreated
                | LossReasonCreated
                | ChannelCreated
                | LeadReceived
                | ClientCreated
                | ContactCreated
                | InterestCreated
                | TaskCreated
                | InteractionCreated
                | ProductCreated
                | AgreementCreated
                | QuoteCreated
                | OrderCreated
                | PaymentRegistered
                | ShipmentCreated
                | SalesPlanCreated
                | AbsencePlanned
                | ClientDateAdded
        );
        creates && self.as_str().split_once('.').is_some_and(|(entity, _)| entity == entity_type)
    }

    /// Whether a change can write this event (tombstones and webhook tests
    /// are made for one reader, never stored).
    pub fn is_stored(self) -> bool {
        !self.as_str().ends_with(".removed") && self != EventType::WebhookTest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_entitys_own_first_event_begins_it() {
        assert!(EventType::LeadReceived.begins("lead"));
        assert!(EventType::PaymentRegistered.begins("payment"));
        assert!(EventType::ClientDateAdded.begins("client_date"));
        // Named for another entity than the one it is written on.
        assert!(!EventType::LeadReceived.begins("client"));
        assert!(!EventType::RelatedDocumentRecorded.begins("order"));
        assert!(!EventType::RelatedDocumentRecorded.begins("related_document"));
        // Later events of an entity.
        assert!(!EventType::LeadAccepted.begins("lead"));
        assert!(!EventType::InterestUpdated.begins("interest"));
        assert!(!EventType::OrganizationUpdated.begins("organization"));
        // Every `*.created` begins its entity.
        for kind in EventType::ALL {
            if let Some(entity) = kind.as_str().strip_suffix(".created") {
                assert!(kind.begins(entity), "{kind}");
            }
        }
    }

    #[test]
    fn every_entity_that_can_leave_a_view_has_its_tombstone_in_the_catalogue() {
        for t in EventType::ALL {
            let entity = t.as_str().split('.').next().unwrap();
            let removed = EventType::removed(entity);
            if t.as_str().ends_with(".removed") {
                assert_eq!(removed, Some(*t));
                assert!(!t.is_stored());
            }
        }
        assert_eq!(EventType::parse("order.confirmed"), Some(EventType::OrderConfirmed));
        assert!(EventType::OrderConfirmed.is_stored());
        assert!(!EventType::WebhookTest.is_stored());
        assert!(!EventType::InterestRemoved.is_stored());
        assert_eq!(EventType::removed("interest"), Some(EventType::InterestRemoved));
        assert_eq!(EventType::removed("payment"), Some(EventType::PaymentRemoved));
        assert!(EventType::removed("product").is_none());
    }
}
