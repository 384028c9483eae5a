-- Leads: inbound requests from every channel, deduplicated on the provider's
-- id, waiting in an inbox until accepted, linked or rejected. Keep in step with migrations/sqlite.

CREATE TABLE leads (
    id UUID PRIMARY KEY,
    channel TEXT NOT NULL,
    source TEXT,
    external_id TEXT,
    status TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    name TEXT,
    phone TEXT,
    email TEXT,
    contact_as_given TEXT,
    subject TEXT,
    body TEXT,
    client_id UUID REFERENCES clients (id),
    contact_id UUID REFERENCES contacts (id),
    assignee_id UUID REFERENCES users (id),
    interest_id UUID REFERENCES interests (id),
    reject_reason TEXT,
    reject_comment TEXT,
    raw_payload TEXT,
    parse_note TEXT,
    processed_by UUID,
    processed_at TIMESTAMP,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX leads_channel_external_idx ON leads (channel, external_id);
CREATE INDEX leads_status_idx ON leads (status, assignee_id, id);
CREATE INDEX leads_updated_at_idx ON leads (updated_at);
