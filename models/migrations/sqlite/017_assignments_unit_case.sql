CREATE INDEX ix_assignments_unit_case ON assignments (unit_id, case_id);
