DROP INDEX leads_processed_at_idx;
DROP INDEX leads_processed_idx;
DROP INDEX leads_received_at_idx;
DROP TABLE sales_plans;
