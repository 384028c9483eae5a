DROP TABLE entity_history;
DROP TABLE name_tokens;
DROP TABLE contact_points;
DROP TABLE contacts;
DROP TABLE clients;
