DROP TABLE organization_settings;
DROP TABLE products;
