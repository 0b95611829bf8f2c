-- The index for the merged tips of a case (the search's text check,
-- merges) covers the few merged cases only: on the whole column the
-- planner's statistics saw one NULL key for nearly every row and scanned
-- the table for each searched case instead.
CREATE INDEX ix_cases_merged_into_set ON cases (merged_into_id) WHERE merged_into_id IS NOT NULL;
