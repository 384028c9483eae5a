DROP TABLE interest_emails;
DROP INDEX invoice_sendings_message_idx;
