CREATE INDEX ix_outbox_created ON outbox (created_at, type);
