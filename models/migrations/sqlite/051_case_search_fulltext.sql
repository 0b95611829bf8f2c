CREATE VIRTUAL TABLE case_search_fts USING fts5(terms, content='case_search', content_rowid='case_id', columnsize=0, detail=none);
