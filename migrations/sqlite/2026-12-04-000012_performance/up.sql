-- Every list pages through an index that matches its filter and its order.
-- A manager's list filters by the responsible (or assignee) and orders by id:
-- with an index on the responsible alone the database fetched every
-- matching row and sorted them to return fifty.
DROP INDEX clients_responsible_idx;
CREATE INDEX clients_responsible_idx ON clients (responsible_id, id);
CREATE INDEX interests_responsible_id_idx ON interests (responsible_id, id);
CREATE INDEX leads_assignee_idx ON leads (assignee_id, id);
CREATE INDEX tasks_assignee_id_idx ON tasks (assignee_id, id);
-- A sync read orders by (updated_at, id).
DROP INDEX departments_updated_at_idx;
CREATE INDEX departments_updated_at_idx ON departments (updated_at, id);
DROP INDEX users_updated_at_idx;
CREATE INDEX users_updated_at_idx ON users (updated_at, id);
DROP INDEX interests_updated_at_idx;
CREATE INDEX interests_updated_at_idx ON interests (updated_at, id);
DROP INDEX clients_updated_at_idx;
CREATE INDEX clients_updated_at_idx ON clients (updated_at, id);
DROP INDEX contacts_updated_at_idx;
CREATE INDEX contacts_updated_at_idx ON contacts (updated_at, id);
DROP INDEX leads_updated_at_idx;
CREATE INDEX leads_updated_at_idx ON leads (updated_at, id);
DROP INDEX products_updated_at_idx;
CREATE INDEX products_updated_at_idx ON products (updated_at, id);
DROP INDEX orders_updated_at_idx;
CREATE INDEX orders_updated_at_idx ON orders (updated_at, id);
DROP INDEX payments_updated_at_idx;
CREATE INDEX payments_updated_at_idx ON payments (updated_at, id);
CREATE INDEX tasks_updated_at_idx ON tasks (updated_at, id);

-- An event's number was MAX(seq) + 1 over the whole table, which the
-- (tx_id, seq) index cannot answer without tx_id: a scan of every event,
-- 5 ms an event at 50,000. Every SQLite event has tx_id 0, so asking for
-- that reads one index entry.
DROP TRIGGER outbox_events_number;
CREATE TRIGGER outbox_events_number AFTER INSERT ON outbox_events WHEN NEW.seq IS NULL
BEGIN
    UPDATE outbox_events SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox_events WHERE tx_id = 0)
    WHERE id = NEW.id;
END;
