-- A user's absence and their deputy. The timed job moves it from
-- `planned` to `running` when it starts and to `ended` when it ends; while
-- it runs, the deputy sees and works the absent user's interests, clients
-- and tasks, and new leads and rule-made tasks meant for the absent user go
-- to the deputy. `cancelled`: withdrawn before or while it ran.
CREATE TABLE absences (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id),
    deputy_id UUID NOT NULL REFERENCES users (id),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    reason TEXT,
    state TEXT NOT NULL,
    created_by UUID,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (starts_at < ends_at)
);
CREATE INDEX absences_user_idx ON absences (user_id, starts_at);
CREATE INDEX absences_deputy_idx ON absences (deputy_id, state);
CREATE INDEX absences_state_idx ON absences (state, starts_at);
