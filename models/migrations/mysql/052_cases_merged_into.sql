CREATE INDEX ix_cases_merged_into ON cases (merged_into_id);
