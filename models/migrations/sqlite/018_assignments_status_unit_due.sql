CREATE INDEX ix_assignments_status_unit_due ON assignments (status, unit_id, due_at, case_id);
