-- Hardening: an order keeps what its invoice prints as it was at
-- confirmation (seller and bank details, buyer, agreement, units), so a later
-- edit of the organisation, the client or a product never changes an issued
-- invoice. Keep in step with the other tree.
ALTER TABLE orders ADD COLUMN issued_snapshot TEXT;

-- The timeline reads in time order (newest first), ties in insertion order;
-- ids alone are not time order when an entry is dated when its lead arrived.
CREATE INDEX timeline_entries_interest_time_idx ON timeline_entries (interest_id, occurred_at, id);
