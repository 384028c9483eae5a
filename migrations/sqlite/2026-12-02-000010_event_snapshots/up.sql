-- Each event keeps the entity as its GET returned it at that change (data),
-- the fields that changed, the entity's version, and who could see it then
-- and before (audience, prev_audience), so the feed can hand out data a
-- reader may see and tombstones to a reader who no longer may. data is NULL
-- only inside the writing transaction, until its events are rendered.
ALTER TABLE outbox_events ADD COLUMN data TEXT;
ALTER TABLE outbox_events ADD COLUMN changes TEXT;
ALTER TABLE outbox_events ADD COLUMN entity_version BIGINT;
ALTER TABLE outbox_events ADD COLUMN audience TEXT;
ALTER TABLE outbox_events ADD COLUMN prev_audience TEXT;
UPDATE outbox_events SET data = payload;
CREATE INDEX outbox_events_pending_idx ON outbox_events (id) WHERE data IS NULL;
CREATE INDEX outbox_events_entity_feed_idx ON outbox_events (entity_type, entity_id, tx_id, seq);
-- Where retention has pruned the feed up to: a cursor before it has lost events.
CREATE TABLE feed_horizon (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    tx_id BIGINT NOT NULL,
    seq BIGINT NOT NULL
);
