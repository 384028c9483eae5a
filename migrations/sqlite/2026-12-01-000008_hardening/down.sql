DROP INDEX timeline_entries_interest_time_idx;
ALTER TABLE orders DROP COLUMN issued_snapshot;
