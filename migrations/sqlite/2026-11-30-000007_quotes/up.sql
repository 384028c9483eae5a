-- Quotes with variants, agreements with payment terms, order payment
-- schedules, invoice e-mails and purchase-side related documents; triggers
-- keep a posted order's lines frozen and a cancelled order from taking
-- payments. Keep in step with migrations/postgres.

CREATE TABLE quotes (
    id TEXT PRIMARY KEY NOT NULL,
    number TEXT NOT NULL,
    interest_id TEXT NOT NULL REFERENCES interests (id),
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    valid_until TIMESTAMP NOT NULL,
    comment TEXT,
    approved_variant_id TEXT,
    decided_at TIMESTAMP,
    created_by TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT quotes_status_known CHECK (status IN ('draft', 'sent', 'approved', 'rejected', 'expired'))
);
CREATE UNIQUE INDEX quotes_number_idx ON quotes (number);
CREATE INDEX quotes_interest_idx ON quotes (interest_id);

CREATE TABLE quote_variants (
    id TEXT PRIMARY KEY NOT NULL,
    quote_id TEXT NOT NULL REFERENCES quotes (id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    net_minor BIGINT NOT NULL,
    vat_minor BIGINT NOT NULL,
    total_minor BIGINT NOT NULL
);
CREATE INDEX quote_variants_quote_idx ON quote_variants (quote_id, position);

CREATE TABLE quote_lines (
    id TEXT PRIMARY KEY NOT NULL,
    variant_id TEXT NOT NULL REFERENCES quote_variants (id),
    position INTEGER NOT NULL,
    product_id TEXT REFERENCES products (id),
    description TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    discount_bp INTEGER NOT NULL,
    vat_rate TEXT NOT NULL,
    price_includes_vat BOOLEAN NOT NULL,
    net_minor BIGINT NOT NULL,
    vat_minor BIGINT NOT NULL,
    total_minor BIGINT NOT NULL,
    CONSTRAINT quote_lines_quantity_positive CHECK (quantity > 0)
);
CREATE INDEX quote_lines_variant_idx ON quote_lines (variant_id, position);

CREATE TABLE agreements (
    id TEXT PRIMARY KEY NOT NULL,
    number TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    title TEXT NOT NULL,
    signed_on TIMESTAMP NOT NULL,
    valid_until TIMESTAMP,
    currency TEXT NOT NULL,
    payment_terms TEXT NOT NULL,
    status TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT agreements_status_known CHECK (status IN ('active', 'closed'))
);
CREATE UNIQUE INDEX agreements_client_number_idx ON agreements (client_id, number);

ALTER TABLE orders ADD COLUMN quote_id TEXT REFERENCES quotes (id);
ALTER TABLE orders ADD COLUMN agreement_id TEXT REFERENCES agreements (id);
ALTER TABLE order_lines ADD COLUMN quote_line_id TEXT REFERENCES quote_lines (id);
CREATE INDEX order_lines_quote_line_idx ON order_lines (quote_line_id);
CREATE INDEX orders_quote_idx ON orders (quote_id);

CREATE TABLE order_instalments (
    id TEXT PRIMARY KEY NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders (id),
    position INTEGER NOT NULL,
    amount_minor BIGINT NOT NULL,
    due_trigger TEXT NOT NULL,
    days_offset INTEGER NOT NULL,
    due_on TIMESTAMP,
    due_checked_at TIMESTAMP,
    CONSTRAINT order_instalments_amount_positive CHECK (amount_minor > 0)
);
CREATE INDEX order_instalments_order_idx ON order_instalments (order_id, position);
CREATE INDEX order_instalments_due_idx ON order_instalments (due_checked_at, due_on);

CREATE TABLE invoice_sendings (
    id TEXT PRIMARY KEY NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders (id),
    recipient TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    message_id TEXT,
    requested_by TEXT,
    sent_at TIMESTAMP,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX invoice_sendings_order_idx ON invoice_sendings (order_id);

CREATE TABLE related_documents (
    id TEXT PRIMARY KEY NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders (id),
    kind TEXT NOT NULL,
    number TEXT NOT NULL,
    document_date TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    amount_minor BIGINT,
    external_id TEXT,
    created_by TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT related_documents_kind_known CHECK (kind IN ('supplier_order', 'goods_receipt', 'receipt_order'))
);
CREATE UNIQUE INDEX related_documents_external_idx ON related_documents (kind, external_id);
CREATE INDEX related_documents_order_idx ON related_documents (order_id);

-- A posted (or cancelled) order's lines keep their goods and money; only
-- the shipped quantity moves.
CREATE TRIGGER order_lines_frozen_insert BEFORE INSERT ON order_lines
WHEN (SELECT status FROM orders WHERE id = NEW.order_id) <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'order_lines_frozen: the lines of a posted order do not change');
END;
CREATE TRIGGER order_lines_frozen_update BEFORE UPDATE ON order_lines
WHEN (SELECT status FROM orders WHERE id = OLD.order_id) <> 'draft' AND (
    NEW.quantity IS NOT OLD.quantity OR NEW.unit_price_minor IS NOT OLD.unit_price_minor
    OR NEW.discount_bp IS NOT OLD.discount_bp OR NEW.vat_rate IS NOT OLD.vat_rate
    OR NEW.net_minor IS NOT OLD.net_minor OR NEW.vat_minor IS NOT OLD.vat_minor
    OR NEW.total_minor IS NOT OLD.total_minor OR NEW.description IS NOT OLD.description
    OR NEW.order_id IS NOT OLD.order_id)
BEGIN
    SELECT RAISE(ABORT, 'order_lines_frozen: the lines of a posted order do not change');
END;
CREATE TRIGGER order_lines_frozen_delete BEFORE DELETE ON order_lines
WHEN (SELECT status FROM orders WHERE id = OLD.order_id) <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'order_lines_frozen: the lines of a posted order do not change');
END;

CREATE TRIGGER payments_need_confirmed_order BEFORE INSERT ON payments
WHEN (SELECT status FROM orders WHERE id = NEW.order_id) <> 'confirmed'
BEGIN
    SELECT RAISE(ABORT, 'payments_need_confirmed_order: only a confirmed order takes payments');
END;
