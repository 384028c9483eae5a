ALTER TABLE orders DROP COLUMN issued_snapshot;
