-- The history every sales report is computed from: one row per move of an
-- interest between stages (its entry into the first stage included), written
-- in the transaction that makes the move. Append-only.
CREATE TABLE stage_moves (
    id TEXT PRIMARY KEY NOT NULL,
    interest_id TEXT NOT NULL REFERENCES interests (id),
    scenario_id TEXT NOT NULL REFERENCES scenarios (id),
    from_stage TEXT,
    to_stage TEXT NOT NULL,
    moved_at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    -- The domain event whose rule made the move (orders_fully_paid…); none for a person's move.
    trigger_event TEXT,
    interaction_result TEXT,
    loss_reason_id TEXT REFERENCES loss_reasons (id)
);
CREATE INDEX stage_moves_moved_at_idx ON stage_moves (moved_at, interest_id);
CREATE INDEX stage_moves_interest_idx ON stage_moves (interest_id, moved_at);

-- Backfill from the timeline, whose entries carry the same facts: the
-- creation entry is the entry into the first stage, each stage change a move.
-- A timeline entry's id becomes its move's id, so the backfill is repeatable.
INSERT INTO stage_moves (id, interest_id, scenario_id, from_stage, to_stage, moved_at, actor_kind, actor_id,
                         trigger_event, interaction_result, loss_reason_id)
SELECT t.id, t.interest_id, i.scenario_id, NULL, json_extract(t.payload, '$.stage'), t.occurred_at,
       t.actor_kind, t.actor_id, NULL, NULL, NULL
FROM timeline_entries t JOIN interests i ON i.id = t.interest_id
WHERE t.kind = 'created' AND json_extract(t.payload, '$.stage') IS NOT NULL;

INSERT INTO stage_moves (id, interest_id, scenario_id, from_stage, to_stage, moved_at, actor_kind, actor_id,
                         trigger_event, interaction_result, loss_reason_id)
SELECT t.id, t.interest_id, i.scenario_id, json_extract(t.payload, '$.from'), json_extract(t.payload, '$.to'),
       t.occurred_at, t.actor_kind, t.actor_id, json_extract(t.payload, '$.event'),
       json_extract(t.payload, '$.interaction_result'),
       -- A loss's reason was given when it was requested; the interest still holds it.
       CASE WHEN i.state = 'lost' AND i.stage = json_extract(t.payload, '$.to') THEN i.loss_reason_id END
FROM timeline_entries t JOIN interests i ON i.id = t.interest_id
WHERE t.kind = 'stage_changed' AND json_extract(t.payload, '$.to') IS NOT NULL;

-- When the responsible expects to close the deal: the forecast groups by it.
-- Existing interests get creation + 30 days, the typical cycle.
ALTER TABLE interests ADD COLUMN expected_close_on DATE NOT NULL DEFAULT '1970-01-01';
UPDATE interests SET expected_close_on = date(created_at, '+30 days');
CREATE INDEX interests_expected_close_idx ON interests (expected_close_on);
-- Reports ask for the interests made, and those closed, in a period.
CREATE INDEX interests_created_at_idx ON interests (created_at);
CREATE INDEX interests_closed_at_idx ON interests (closed_at);

-- "Typical sale" as it was stored gets its stages' probabilities: the text
-- of each built-in stage is matched as serde wrote it, so a stage a head has
-- renamed or retyped is left alone (it falls back to its position's default).
-- The match runs up to "guards", which serde writes right after the kind
-- when there is no probability, so a definition that has one is not touched.
UPDATE scenarios SET definition =
    replace(replace(replace(replace(replace(replace(definition,
        '{"code":"request","name":"Request","kind":"open","guards"', '{"code":"request","name":"Request","kind":"open","probability":10,"guards"'),
        '{"code":"proposal","name":"Proposal","kind":"open","guards"', '{"code":"proposal","name":"Proposal","kind":"open","probability":30,"guards"'),
        '{"code":"payment","name":"Payment","kind":"open","guards"', '{"code":"payment","name":"Payment","kind":"open","probability":70,"guards"'),
        '{"code":"shipment","name":"Shipment","kind":"open","guards"', '{"code":"shipment","name":"Shipment","kind":"open","probability":90,"guards"'),
        '{"code":"won","name":"Won","kind":"won","guards"', '{"code":"won","name":"Won","kind":"won","probability":100,"guards"'),
        '{"code":"lost","name":"Lost","kind":"lost","guards"', '{"code":"lost","name":"Lost","kind":"lost","probability":0,"guards"')
WHERE name = 'Typical sale';
