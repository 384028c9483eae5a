-- E-mails of an interest, both ways: those sent from it (recorded before
-- they are tried, so a failed one is kept and retried) and the replies that
-- came back naming one of our messages. `message_id` is what a reply's
-- In-Reply-To or References names.
CREATE TABLE interest_emails (
    id TEXT PRIMARY KEY NOT NULL,
    interest_id TEXT NOT NULL REFERENCES interests (id),
    direction TEXT NOT NULL,
    status TEXT NOT NULL,
    from_address TEXT,
    to_addresses TEXT NOT NULL,
    cc_addresses TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    attachments TEXT NOT NULL,
    message_id TEXT NOT NULL,
    in_reply_to TEXT,
    interaction_id TEXT REFERENCES interactions (id),
    attempts INTEGER NOT NULL,
    last_error TEXT,
    requested_by TEXT,
    sent_at TIMESTAMP,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX interest_emails_interest_idx ON interest_emails (interest_id, id);
CREATE INDEX interest_emails_message_idx ON interest_emails (message_id);
-- A reply naming an invoice e-mail finds its sending by the Message-ID.
CREATE INDEX invoice_sendings_message_idx ON invoice_sendings (message_id);
