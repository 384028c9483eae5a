DROP TABLE idempotency_keys;
DROP TABLE outbox_events;
DROP TABLE login_attempts;
DROP TABLE api_keys;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
UPDATE departments SET head_id = NULL;
DROP TABLE users;
DROP TABLE departments;
