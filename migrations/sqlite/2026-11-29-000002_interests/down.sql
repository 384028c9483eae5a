DROP TABLE timeline_entries;
DROP TABLE notifications;
DROP TABLE tasks;
DROP TABLE interactions;
DROP TABLE interests;
DROP TABLE loss_reasons;
DROP TABLE scenarios;
