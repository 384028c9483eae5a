DROP TABLE feed_horizon;
DROP INDEX outbox_events_entity_feed_idx;
DROP INDEX outbox_events_pending_idx;
ALTER TABLE outbox_events DROP COLUMN prev_audience;
ALTER TABLE outbox_events DROP COLUMN audience;
ALTER TABLE outbox_events DROP COLUMN entity_version;
ALTER TABLE outbox_events DROP COLUMN changes;
ALTER TABLE outbox_events DROP COLUMN data;
