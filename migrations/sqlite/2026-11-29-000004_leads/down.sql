ALTER TABLE users DROP COLUMN default_service_type;
DROP TABLE intake_deliveries;
