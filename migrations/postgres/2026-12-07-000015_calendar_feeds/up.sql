-- A user's personal calendar feed: the digest of its unguessable token
-- (the token itself is shown once, when made). One per user; making a new
-- one replaces it.
CREATE TABLE calendar_feeds (
    user_id UUID PRIMARY KEY REFERENCES users (id),
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX calendar_feeds_token_idx ON calendar_feeds (token_hash);
