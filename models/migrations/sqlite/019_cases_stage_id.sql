CREATE INDEX ix_cases_stage_id ON cases (stage, id);
