DROP TABLE sales_plans;
