-- A notice an older worker files between step 112 and this one is not
-- carried over: stop the workers for this migration (docs/digest.md).
ALTER TABLE digests DROP COLUMN items;
