CREATE INDEX ix_events_case_kind ON events (case_id, kind, assignment_id);
