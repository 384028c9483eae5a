-- Leads: inbound requests from every channel, deduplicated on the provider's
-- id, waiting in an inbox until accepted, linked or rejected. Keep in step with migrations/sqlite.

CREATE TABLE leads (
    id UUID PRIMARY KEY,
    channel TEXT NOT NULL,
    source TEXT,
    external_id TEXT,
    thread_key TEXT,
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
CREATE INDEX leads_thread_idx ON leads (channel, thread_key, status);

-- Where leads come from: mailboxes, bots, VK groups, phone lines, website forms.
-- Secrets are stored as SHA-256 digests; the VK confirmation string must be
-- answered back as it is, so it is kept, but never returned by the API.
CREATE TABLE channels (
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    secret_hash TEXT,
    confirmation TEXT,
    assignee_id UUID REFERENCES users (id),
    allowed_origins TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX channels_kind_address_idx ON channels (kind, address);
CREATE INDEX channels_secret_idx ON channels (kind, secret_hash);

-- Hits counted for per-address rate limits (website forms), shared by all instances.
CREATE TABLE rate_limit_hits (
    id UUID PRIMARY KEY,
    bucket TEXT NOT NULL,
    hit_at TIMESTAMP NOT NULL
);
CREATE INDEX rate_limit_hits_bucket_idx ON rate_limit_hits (bucket, hit_at);

-- Every provider delivery seen (Telegram update, VK event, call, e-mail), so a
-- redelivery is answered the same and changes nothing, even when it only
-- appended to an existing lead.
CREATE TABLE intake_deliveries (
    id UUID PRIMARY KEY,
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    lead_id UUID REFERENCES leads (id),
    received_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX intake_deliveries_key_idx ON intake_deliveries (channel, external_id);

-- The service type a manager usually sells; the lead wizard presets it.
ALTER TABLE users ADD COLUMN default_service_type TEXT;
