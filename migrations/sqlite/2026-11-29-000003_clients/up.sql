-- Clients, contacts, their normalised contact points and name tokens (for
-- index-backed duplicate search), and field-level history. Keep in step with migrations/postgres.

CREATE TABLE clients (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    tax_id TEXT,
    address TEXT,
    responsible_id TEXT REFERENCES users (id),
    status TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX clients_tax_id_idx ON clients (tax_id);
CREATE INDEX clients_name_key_idx ON clients (name_key);
CREATE INDEX clients_responsible_idx ON clients (responsible_id);
CREATE INDEX clients_updated_at_idx ON clients (updated_at);

CREATE TABLE contacts (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT REFERENCES clients (id),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    position TEXT,
    telegram TEXT,
    vk TEXT,
    whatsapp TEXT,
    responsible_id TEXT REFERENCES users (id),
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX contacts_client_idx ON contacts (client_id);
CREATE INDEX contacts_name_key_idx ON contacts (name_key);
CREATE INDEX contacts_updated_at_idx ON contacts (updated_at);

CREATE TABLE contact_points (
    id TEXT PRIMARY KEY NOT NULL,
    owner_kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX contact_points_value_idx ON contact_points (kind, value);
CREATE INDEX contact_points_owner_idx ON contact_points (owner_kind, owner_id);

CREATE TABLE name_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    owner_kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    token TEXT NOT NULL
);
CREATE INDEX name_tokens_token_idx ON name_tokens (token);
CREATE INDEX name_tokens_owner_idx ON name_tokens (owner_kind, owner_id);

CREATE TABLE entity_history (
    id TEXT PRIMARY KEY NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    changed_at TIMESTAMP NOT NULL
);
CREATE INDEX entity_history_entity_idx ON entity_history (entity_type, entity_id, id);
