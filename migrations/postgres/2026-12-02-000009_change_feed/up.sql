-- The change feed reads the outbox in commit-safe order: every event keeps
-- the id of the transaction that wrote it, and a reader only takes events of
-- transactions older than every transaction still running, ordered by
-- (tx_id, seq). A plain sequence is not enough: seq 10 can commit after 11.
CREATE SEQUENCE outbox_events_seq;
ALTER TABLE outbox_events ADD COLUMN seq BIGINT DEFAULT nextval('outbox_events_seq');
ALTER TABLE outbox_events ADD COLUMN tx_id BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
ALTER SEQUENCE outbox_events_seq OWNED BY outbox_events.seq;
UPDATE outbox_events SET seq = nextval('outbox_events_seq') WHERE seq IS NULL;
CREATE UNIQUE INDEX outbox_events_feed_idx ON outbox_events (tx_id, seq);
