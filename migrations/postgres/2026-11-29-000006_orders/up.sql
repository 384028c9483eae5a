-- Orders with their lines, payments and shipments. Invariants the code keeps
-- are also constraints here. Keep in step with migrations/sqlite.

CREATE TABLE document_numbers (
    kind TEXT NOT NULL,
    year INTEGER NOT NULL,
    last_number BIGINT NOT NULL,
    PRIMARY KEY (kind, year)
);

CREATE TABLE orders (
    id UUID PRIMARY KEY,
    number TEXT NOT NULL,
    interest_id UUID NOT NULL REFERENCES interests (id),
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    net_minor BIGINT NOT NULL,
    vat_minor BIGINT NOT NULL,
    total_minor BIGINT NOT NULL,
    paid_minor BIGINT NOT NULL,
    confirmed_at TIMESTAMP,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT orders_amounts_not_negative CHECK (total_minor >= 0 AND paid_minor >= 0)
);
CREATE UNIQUE INDEX orders_number_idx ON orders (number);
CREATE INDEX orders_interest_idx ON orders (interest_id);
CREATE INDEX orders_updated_at_idx ON orders (updated_at);

CREATE TABLE order_lines (
    id UUID PRIMARY KEY,
    order_id UUID NOT NULL REFERENCES orders (id),
    position INTEGER NOT NULL,
    product_id UUID REFERENCES products (id),
    description TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    discount_bp INTEGER NOT NULL,
    vat_rate TEXT NOT NULL,
    price_includes_vat BOOLEAN NOT NULL,
    net_minor BIGINT NOT NULL,
    vat_minor BIGINT NOT NULL,
    total_minor BIGINT NOT NULL,
    shipped_quantity BIGINT NOT NULL,
    CONSTRAINT order_lines_shipped_within CHECK (shipped_quantity >= 0 AND shipped_quantity <= quantity)
);
CREATE INDEX order_lines_order_idx ON order_lines (order_id, position);

CREATE TABLE payments (
    id UUID PRIMARY KEY,
    order_id UUID NOT NULL REFERENCES orders (id),
    amount_minor BIGINT NOT NULL,
    paid_on TIMESTAMP NOT NULL,
    external_ref TEXT,
    payer TEXT,
    comment TEXT,
    status TEXT NOT NULL,
    overpaid BOOLEAN NOT NULL,
    created_by UUID,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT payments_amount_positive CHECK (amount_minor > 0)
);
CREATE UNIQUE INDEX payments_external_ref_idx ON payments (external_ref);
CREATE INDEX payments_order_idx ON payments (order_id);
CREATE INDEX payments_updated_at_idx ON payments (updated_at);

CREATE TABLE shipments (
    id UUID PRIMARY KEY,
    number TEXT NOT NULL,
    order_id UUID NOT NULL REFERENCES orders (id),
    kind TEXT NOT NULL,
    shipped_on TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    route_sheet TEXT,
    notes TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX shipments_number_idx ON shipments (number);
CREATE INDEX shipments_order_idx ON shipments (order_id);

CREATE TABLE shipment_lines (
    id UUID PRIMARY KEY,
    shipment_id UUID NOT NULL REFERENCES shipments (id),
    order_line_id UUID NOT NULL REFERENCES order_lines (id),
    quantity BIGINT NOT NULL,
    CONSTRAINT shipment_lines_quantity_positive CHECK (quantity > 0)
);
CREATE INDEX shipment_lines_shipment_idx ON shipment_lines (shipment_id);
