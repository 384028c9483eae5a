-- Dates that come round every year: a contact's birthday (the year may be
-- unknown: `--MM-DD`), a client's founding, and free important dates of a
-- client. Each keeps its `MM-DD` too, which the upcoming-dates list and the
-- reminder job look up by.
ALTER TABLE contacts ADD COLUMN birthday TEXT;
ALTER TABLE contacts ADD COLUMN birthday_md TEXT;
CREATE INDEX contacts_birthday_idx ON contacts (birthday_md);
ALTER TABLE clients ADD COLUMN founded_on DATE;
ALTER TABLE clients ADD COLUMN founded_md TEXT;
CREATE INDEX clients_founded_idx ON clients (founded_md);
CREATE TABLE client_dates (
    id UUID PRIMARY KEY,
    client_id UUID NOT NULL REFERENCES clients (id),
    title TEXT NOT NULL,
    date TEXT NOT NULL,
    md TEXT NOT NULL,
    created_by UUID,
    created_at TIMESTAMP NOT NULL,
    -- A removed date keeps its row so the change feed can show it as it went.
    deleted_at TIMESTAMP
);
CREATE INDEX client_dates_client_idx ON client_dates (client_id, id);
CREATE INDEX client_dates_md_idx ON client_dates (md);
-- A reminder given: one per date (kind and what it belongs to) per year.
CREATE TABLE date_reminders (
    kind TEXT NOT NULL,
    subject_id UUID NOT NULL,
    year INTEGER NOT NULL,
    reminded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, subject_id, year)
);
