DROP TRIGGER outbox_events_number;
CREATE TRIGGER outbox_events_number AFTER INSERT ON outbox_events WHEN NEW.seq IS NULL
BEGIN
    UPDATE outbox_events SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox_events) WHERE id = NEW.id;
END;
DROP INDEX tasks_updated_at_idx;
DROP INDEX departments_updated_at_idx;
CREATE INDEX departments_updated_at_idx ON departments (updated_at);
DROP INDEX users_updated_at_idx;
CREATE INDEX users_updated_at_idx ON users (updated_at);
DROP INDEX interests_updated_at_idx;
CREATE INDEX interests_updated_at_idx ON interests (updated_at);
DROP INDEX clients_updated_at_idx;
CREATE INDEX clients_updated_at_idx ON clients (updated_at);
DROP INDEX contacts_updated_at_idx;
CREATE INDEX contacts_updated_at_idx ON contacts (updated_at);
DROP INDEX leads_updated_at_idx;
CREATE INDEX leads_updated_at_idx ON leads (updated_at);
DROP INDEX products_updated_at_idx;
CREATE INDEX products_updated_at_idx ON products (updated_at);
DROP INDEX orders_updated_at_idx;
CREATE INDEX orders_updated_at_idx ON orders (updated_at);
DROP INDEX payments_updated_at_idx;
CREATE INDEX payments_updated_at_idx ON payments (updated_at);
DROP INDEX tasks_assignee_id_idx;
DROP INDEX leads_assignee_idx;
DROP INDEX interests_responsible_id_idx;
DROP INDEX clients_responsible_idx;
CREATE INDEX clients_responsible_idx ON clients (responsible_id);
