-- The product and service catalogue, and the organisation's own details
-- (the seller on invoices). Keep in step with migrations/sqlite.

CREATE TABLE products (
    id UUID PRIMARY KEY,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    unit TEXT NOT NULL,
    price_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    vat_rate TEXT NOT NULL,
    price_includes_vat BOOLEAN NOT NULL,
    active BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT products_price_not_negative CHECK (price_minor >= 0)
);
CREATE UNIQUE INDEX products_sku_idx ON products (sku);
CREATE INDEX products_updated_at_idx ON products (updated_at);

CREATE TABLE organization_settings (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    tax_id TEXT,
    kpp TEXT,
    bank TEXT,
    bik TEXT,
    account TEXT,
    correspondent_account TEXT,
    address TEXT,
    version BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
