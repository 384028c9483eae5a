DROP INDEX leads_thread_idx;
CREATE INDEX leads_thread_idx ON leads (channel, thread_key, status);
