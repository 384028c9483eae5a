-- Scenarios, interests and the work around them. Keep in step with migrations/postgres.

CREATE TABLE scenarios (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    definition TEXT NOT NULL,
    is_default BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX scenarios_name_key_idx ON scenarios (name_key);

CREATE TABLE loss_reasons (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX loss_reasons_name_key_idx ON loss_reasons (name_key);

CREATE TABLE interests (
    id TEXT PRIMARY KEY NOT NULL,
    scenario_id TEXT NOT NULL REFERENCES scenarios (id),
    stage TEXT NOT NULL,
    state TEXT NOT NULL,
    pending_stage TEXT,
    title TEXT NOT NULL,
    potential_minor BIGINT,
    currency TEXT NOT NULL,
    service_type TEXT,
    client_id TEXT,
    contact_id TEXT,
    responsible_id TEXT NOT NULL REFERENCES users (id),
    loss_reason_id TEXT REFERENCES loss_reasons (id),
    loss_comment TEXT,
    loss_approver_id TEXT REFERENCES users (id),
    stage_entered_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX interests_responsible_idx ON interests (responsible_id, scenario_id, stage, id);
CREATE INDEX interests_scenario_stage_idx ON interests (scenario_id, stage, id);
CREATE INDEX interests_updated_at_idx ON interests (updated_at);
CREATE INDEX interests_client_idx ON interests (client_id);

CREATE TABLE interactions (
    id TEXT PRIMARY KEY NOT NULL,
    interest_id TEXT NOT NULL REFERENCES interests (id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    subject TEXT NOT NULL,
    planned_at TIMESTAMP,
    completed_at TIMESTAMP,
    result TEXT,
    created_by TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX interactions_interest_idx ON interactions (interest_id, status);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    interest_id TEXT REFERENCES interests (id),
    title TEXT NOT NULL,
    task_kind TEXT NOT NULL,
    assignee_id TEXT NOT NULL REFERENCES users (id),
    due_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    rule_stage TEXT,
    rule TEXT,
    created_by TEXT,
    completed_at TIMESTAMP,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX tasks_assignee_idx ON tasks (assignee_id, status, due_at);
CREATE INDEX tasks_interest_idx ON tasks (interest_id, status);

CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    interest_id TEXT REFERENCES interests (id),
    text TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP
);
CREATE INDEX notifications_user_idx ON notifications (user_id, read_at);

CREATE TABLE timeline_entries (
    id TEXT PRIMARY KEY NOT NULL,
    interest_id TEXT NOT NULL REFERENCES interests (id),
    kind TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    occurred_at TIMESTAMP NOT NULL,
    summary TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX timeline_entries_interest_idx ON timeline_entries (interest_id, id);
