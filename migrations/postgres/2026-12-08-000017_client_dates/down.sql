DROP TABLE date_reminders;
DROP TABLE client_dates;
DROP INDEX clients_founded_idx;
ALTER TABLE clients DROP COLUMN founded_md;
ALTER TABLE clients DROP COLUMN founded_on;
DROP INDEX contacts_birthday_idx;
ALTER TABLE contacts DROP COLUMN birthday_md;
ALTER TABLE contacts DROP COLUMN birthday;
