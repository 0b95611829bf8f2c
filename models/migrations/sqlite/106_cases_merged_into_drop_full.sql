DROP INDEX ix_cases_merged_into;
