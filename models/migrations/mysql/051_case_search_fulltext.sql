ALTER TABLE case_search ADD FULLTEXT INDEX ft_case_search_terms (terms);
