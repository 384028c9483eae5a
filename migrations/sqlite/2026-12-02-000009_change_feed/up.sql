-- The change feed reads the outbox in commit order. SQLite has one writer at
-- a time, so numbering events as they are written is commit order; tx_id
-- stays 0 (PostgreSQL keeps the writing transaction's id there).
ALTER TABLE outbox_events ADD COLUMN seq BIGINT;
ALTER TABLE outbox_events ADD COLUMN tx_id BIGINT NOT NULL DEFAULT 0;
UPDATE outbox_events SET seq = rowid;
CREATE UNIQUE INDEX outbox_events_feed_idx ON outbox_events (tx_id, seq);
CREATE TRIGGER outbox_events_number AFTER INSERT ON outbox_events WHEN NEW.seq IS NULL
BEGIN
    UPDATE outbox_events SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox_events) WHERE id = NEW.id;
END;
