-- Only messenger leads carry a conversation key, so the index that finds a
-- chat's open lead holds those alone. Besides being smaller, it can no
-- longer stand in for `(channel, external_id)`: on a fresh database
-- PostgreSQL costed both alike, and a connection that cached the intake's
-- dedupe lookup with this one read every lead of the channel per request
-- until the table was next analysed.
DROP INDEX leads_thread_idx;
CREATE INDEX leads_thread_idx ON leads (channel, thread_key, status) WHERE thread_key IS NOT NULL;
