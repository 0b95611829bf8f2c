CREATE UNIQUE INDEX uq_tips_source_ref ON tips (source_ref);
