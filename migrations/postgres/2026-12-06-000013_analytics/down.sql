DROP INDEX interests_closed_at_idx;
DROP INDEX interests_created_at_idx;
DROP INDEX interests_expected_close_idx;
ALTER TABLE interests DROP COLUMN expected_close_on;
DROP TABLE stage_moves;
