CREATE TABLE service_evaluations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  unit_id INTEGER NOT NULL,
  rating VARCHAR(32) NOT NULL,
  comment TEXT NOT NULL,
  rated_on VARCHAR(10) NOT NULL,
  CONSTRAINT fk_service_evaluations_unit FOREIGN KEY (unit_id) REFERENCES units (id)
);
CREATE INDEX ix_service_evaluations_day ON service_evaluations (rated_on, unit_id);
