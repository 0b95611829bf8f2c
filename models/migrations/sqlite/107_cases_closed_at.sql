CREATE INDEX ix_cases_closed ON cases (closed_at);
