CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type VARCHAR(64) NOT NULL,
  payload BLOB NOT NULL,
  queue VARCHAR(32) NOT NULL,
  run_at DATETIME NOT NULL,
  created_at DATETIME NOT NULL,
  enqueued_at DATETIME NULL,
  done_at DATETIME NULL
);
CREATE INDEX ix_outbox_pending ON outbox (done_at, enqueued_at, id);
