-- Hardening: an order keeps what its invoice prints as it was at
-- confirmation (seller and bank details, buyer, agreement, units), so a later
-- edit of the organisation, the client or a product never changes an issued
-- invoice. Keep in step with the other tree.
ALTER TABLE orders ADD COLUMN issued_snapshot TEXT;
