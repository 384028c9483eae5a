DROP TABLE idempotency_keys;
DROP TABLE outbox_events;
DROP TABLE login_attempts;
DROP TABLE api_keys;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
ALTER TABLE departments DROP CONSTRAINT departments_head_id_fkey;
DROP TABLE users;
DROP TABLE departments;
