DROP INDEX outbox_events_feed_idx;
ALTER TABLE outbox_events DROP COLUMN tx_id;
ALTER TABLE outbox_events DROP COLUMN seq;
