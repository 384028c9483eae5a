-- Sales plans: a monthly amount a head sets for one manager or one
-- department, in one currency. A deleted plan keeps its row (`deleted_at`)
-- so the change feed can still show it as it was when it went.
CREATE TABLE sales_plans (
    id UUID PRIMARY KEY,
    -- The first day of the plan's month.
    month DATE NOT NULL,
    user_id UUID REFERENCES users (id),
    department_id UUID REFERENCES departments (id),
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    note TEXT,
    created_by UUID REFERENCES users (id),
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    CHECK ((user_id IS NULL) <> (department_id IS NULL))
);
-- One live plan per month, target and currency (a NULL target never clashes).
CREATE UNIQUE INDEX sales_plans_user_idx ON sales_plans (user_id, month, currency) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX sales_plans_department_idx ON sales_plans (department_id, month, currency)
    WHERE deleted_at IS NULL;
CREATE INDEX sales_plans_month_idx ON sales_plans (month, id);
CREATE INDEX sales_plans_updated_idx ON sales_plans (updated_at, id);

-- The analytics of leads: received in a period (lead sources) and taken in
-- a period by someone (the managers' report) page through these instead of
-- every lead.
CREATE INDEX leads_received_at_idx ON leads (received_at);
CREATE INDEX leads_processed_idx ON leads (processed_by, processed_at);
CREATE INDEX leads_processed_at_idx ON leads (processed_at);
