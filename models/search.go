package models

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Keyword search of the case list (docs/search.md). Chinese has no spaces,
// so a word index finds almost nothing; instead every run of letters and
// digits in a case's title, content and implicated unit — its own tip's
// and those of the tips merged into it — is cut into overlapping
// character pairs (打卡签到 → 打卡 卡签 签到), plus the last character of
// each run alone. Each term is written as "x" + the hex of its UTF-8 bytes,
// so it is one plain ASCII word of at least three characters that MySQL's
// InnoDB FULLTEXT parser (innodb_ft_min_token_size = 3, English stopwords)
// and SQLite's FTS5 both keep intact. A query needs every pair of its
// words; a one-character word is a prefix term (x<hex>*), which matches the
// pairs that start with it and the lone last characters. The index only
// narrows the candidates: each candidate is checked against the text with
// LIKE, field by field, so a pair that spans title and content, or a
// query's pairs found in a different order, never matches falsely.

// CaseSearch is a case's index document (case_search; in SQLite the FTS5
// table case_search_fts indexes it as external content).
type CaseSearch struct {
	CaseID uint64 `gorm:"primaryKey;autoIncrement:false"`
	Terms  string `gorm:"type:mediumtext;not null"`
}

// TableName keeps gorm from pluralising.
func (CaseSearch) TableName() string { return "case_search" }

// maxQueryRunes bounds a search query: longer text is not a keyword.
const maxQueryRunes = 50

// searchRuns splits text into lower-cased runs of letters and digits.
func searchRuns(text string) [][]rune {
	var runs [][]rune
	var cur []rune
	for _, r := range text {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			cur = append(cur, unicode.ToLower(r))
			continue
		}
		if len(cur) > 0 {
			runs = append(runs, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		runs = append(runs, cur)
	}
	return runs
}

func searchTerm(rs ...rune) string {
	var u [2 * utf8.UTFMax]byte
	b := u[:0]
	for _, r := range rs {
		b = utf8.AppendRune(b, r)
	}
	out := make([]byte, 1+hex.EncodedLen(len(b)))
	out[0] = 'x'
	hex.Encode(out[1:], b)
	return string(out)
}

// searchTerms is the index document of texts: their distinct terms,
// sorted, joined by spaces. The terms are sorted as their UTF-8 bytes,
// which is the order of their hex words, so that no term string is built
// twice: a backfill computes a million of these.
func searchTerms(texts ...string) string {
	n := 0
	for _, t := range texts {
		n += len(t)
	}
	keys := make([]uint64, 0, n/2) // most runes here are Chinese: 3 bytes, 1 term
	for _, t := range texts {
		// The runs of searchRuns, walked without building them.
		var prev rune
		for _, r := range t {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				if prev != 0 {
					keys = append(keys, termKey(prev, 0))
				}
				prev = 0
				continue
			}
			r = unicode.ToLower(r)
			if prev != 0 {
				keys = append(keys, termKey(prev, r))
			}
			prev = r
		}
		if prev != 0 {
			keys = append(keys, termKey(prev, 0))
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	out := make([]byte, 0, len(keys)*14)
	var u [2 * utf8.UTFMax]byte
	for i, k := range keys {
		if i > 0 {
			out = append(out, ' ')
		}
		b := utf8.AppendRune(u[:0], rune(k>>21))
		if second := rune(k & (1<<21 - 1)); second != 0 {
			b = utf8.AppendRune(b, second)
		}
		out = hex.AppendEncode(append(out, 'x'), b)
	}
	return string(out)
}

// termKey packs a term of one or two runes (second 0: one) into an integer
// whose order is that of the term's UTF-8 bytes: a rune takes 21 bits,
// UTF-8 keeps the order of code points and no rune's bytes are a prefix of
// another's, and a letter or digit is never rune 0, so a lone character
// comes just before the pairs it starts.
func termKey(first, second rune) uint64 {
	return uint64(first)<<21 | uint64(second)
}

// maxQueryTerms bounds the full-text work of one query: the candidates
// of the first terms are a superset of the answer, and the text check
// does the rest.
const maxQueryTerms = 12

// searchQuery turns the user's words into the full-text query of the
// dialect; ok is false when the words hold no letter or digit. A query
// with pairs leaves out its one-character words (prefix terms cost the
// most and narrow the least), and uses at most maxQueryTerms terms.
func searchQuery(dialect, words string) (query string, ok bool) {
	var pairs, singles []string
	seen := map[string]bool{}
	for _, run := range searchRuns(words) {
		if len(run) == 1 {
			if t := searchTerm(run[0]) + "*"; !seen[t] {
				seen[t] = true
				singles = append(singles, t)
			}
		}
		for i := 0; i+1 < len(run); i++ {
			if t := searchTerm(run[i], run[i+1]); !seen[t] {
				seen[t] = true
				pairs = append(pairs, t)
			}
		}
	}
	terms := pairs
	if len(terms) == 0 {
		terms = singles
	}
	if len(terms) == 0 {
		return "", false
	}
	terms = terms[:min(len(terms), maxQueryTerms)]
	if dialect == "mysql" {
		return "+" + strings.Join(terms, " +"), true
	}
	return strings.Join(terms, " AND "), true
}

// searchFilter narrows q to the cases whose text contains words (or, if
// words is a number, the case of that id). The text of tips merged into a
// case counts only when withMerged: a liaison never reads those tips, so
// the search must not answer questions about them either. It returns a
// field error message when the words cannot be searched.
func (s *Store) searchFilter(q *gorm.DB, words string, withMerged bool) (*gorm.DB, string) {
	cond, args, msg := s.searchCondition(words, withMerged, true)
	if msg != "" {
		return q, msg
	}
	return q.Where(cond, args), ""
}

// recentWindow is how many of the newest cases a search reads directly,
// text check only, before it asks the full-text index: a common word fills
// a page from the newest few dozen cases, where the index would first
// collect every one of its hundreds of thousands of cases.
const recentWindow = 3000

// searchCondition is the WHERE condition of a search, with or without the
// full-text index (without: the text check alone, for the recent window).
func (s *Store) searchCondition(words string, withMerged, useIndex bool) (string, map[string]any, string) {
	if utf8.RuneCountInString(words) > maxQueryRunes {
		return "", nil, fmt.Sprintf("搜索词不能超过%d个字", maxQueryRunes)
	}
	id, idErr := parseCaseID(words)
	match, ok := searchQuery(s.dialect, words)
	if !ok {
		if idErr == nil {
			return "cases.id = @id", map[string]any{"id": id}, ""
		}
		return "", nil, "搜索词应包含汉字、字母或数字"
	}
	like := "%" + likeEscape(words) + "%"
	// The text itself decides: the tip's fields one by one, then those of
	// the tips merged into the case.
	verify := "tips.title LIKE @like ESCAPE '!' OR tips.content LIKE @like ESCAPE '!' OR tips.implicated_unit LIKE @like ESCAPE '!'"
	if withMerged {
		// "IS NOT NULL" is implied, but it tells MariaDB that few rows
		// qualify: without it, the index statistics (one NULL key for
		// nearly every case) led it to materialize the subquery from a
		// LIKE over every tip, seconds a request at a million cases.
		verify += " OR EXISTS (SELECT 1 FROM cases mc JOIN tips mt ON mt.id = mc.tip_id WHERE mc.merged_into_id = cases.id AND mc.merged_into_id IS NOT NULL" +
			" AND (mt.title LIKE @like ESCAPE '!' OR mt.content LIKE @like ESCAPE '!' OR mt.implicated_unit LIKE @like ESCAPE '!'))"
	}
	verify = "(" + verify + ")"
	var candidates string
	if s.dialect == "mysql" {
		candidates = "cases.id IN (SELECT cs.case_id FROM case_search cs WHERE MATCH (cs.terms) AGAINST (@match IN BOOLEAN MODE))"
	} else {
		candidates = "cases.id IN (SELECT rowid FROM case_search_fts WHERE case_search_fts MATCH @match)"
	}
	args := map[string]any{"like": like, "match": match, "id": id}
	cond := verify
	if useIndex {
		cond = candidates + " AND " + verify
	}
	if idErr == nil {
		cond = "(cases.id = @id OR (" + cond + "))"
	}
	return cond, args, ""
}

// textRow is one tip text that belongs to a case's search document.
type textRow struct {
	Owner          uint64
	Title          string
	Content        string
	ImplicatedUnit string
}

// refreshSearch rewrites the search documents of cases whose text may
// have changed: the case's own tip and the tips merged into it.
func (s *Store) refreshSearch(tx *gorm.DB, ids []uint64) error {
	var rows []textRow
	if err := tx.Raw("SELECT c.id AS owner, t.title, t.content, t.implicated_unit FROM cases c JOIN tips t ON t.id = c.tip_id WHERE c.id IN ?"+
		" UNION ALL SELECT c.merged_into_id AS owner, t.title, t.content, t.implicated_unit FROM cases c JOIN tips t ON t.id = c.tip_id"+
		" WHERE c.merged_into_id IN ?", ids, ids).Scan(&rows).Error; err != nil {
		return fmt.Errorf("search: load texts: %w", err)
	}
	texts := map[uint64][]string{}
	for _, r := range rows {
		texts[r.Owner] = append(texts[r.Owner], r.Title, r.Content, r.ImplicatedUnit)
	}
	var old []CaseSearch
	if err := tx.Where("case_id IN ?", ids).Find(&old).Error; err != nil {
		return fmt.Errorf("search: load documents: %w", err)
	}
	before := map[uint64]string{}
	for _, d := range old {
		before[d.CaseID] = d.Terms
	}
	var fresh []any // case id, terms, … of the cases indexed for the first time
	for _, id := range ids {
		if _, ok := texts[id]; !ok {
			continue // not a case (yet): nothing to index
		}
		terms := searchTerms(texts[id]...)
		prev, had := before[id]
		switch {
		case !had:
			fresh = append(fresh, id, terms)
		case prev != terms:
			if err := s.rewriteSearchDoc(tx, id, prev, terms); err != nil {
				return err
			}
		}
	}
	return s.insertSearchDocs(tx, fresh)
}

// insertSearchDocs indexes cases that have no document yet: fresh holds
// case id, terms, ….
func (s *Store) insertSearchDocs(tx *gorm.DB, fresh []any) error {
	if len(fresh) == 0 {
		return nil
	}
	values := strings.TrimSuffix(strings.Repeat("(?, ?),", len(fresh)/2), ",")
	if err := tx.Exec("INSERT INTO case_search (case_id, terms) VALUES "+values, fresh...).Error; err != nil {
		return fmt.Errorf("search: index cases: %w", err)
	}
	if s.dialect == "sqlite" {
		if err := tx.Exec("INSERT INTO case_search_fts (rowid, terms) VALUES "+values, fresh...).Error; err != nil {
			return fmt.Errorf("search: index cases: %w", err)
		}
	}
	return nil
}

// rewriteSearchDoc replaces a case's document whose text changed (a tip
// merged into it, an edit, a redaction).
func (s *Store) rewriteSearchDoc(tx *gorm.DB, id uint64, prev, terms string) error {
	if s.dialect == "sqlite" {
		// External content: FTS5 forgets a row given its old text.
		if err := tx.Exec("INSERT INTO case_search_fts (case_search_fts, rowid, terms) VALUES ('delete', ?, ?)", id, prev).Error; err != nil {
			return fmt.Errorf("search: unindex case %d: %w", id, err)
		}
		if err := tx.Exec("INSERT INTO case_search_fts (rowid, terms) VALUES (?, ?)", id, terms).Error; err != nil {
			return fmt.Errorf("search: index case %d: %w", id, err)
		}
	}
	if err := tx.Exec("UPDATE case_search SET terms = ? WHERE case_id = ?", terms, id).Error; err != nil {
		return fmt.Errorf("search: update case %d: %w", id, err)
	}
	return nil
}

// parseCaseID reads words as a case id.
func parseCaseID(words string) (uint64, error) {
	return strconv.ParseUint(strings.TrimSpace(words), 10, 64)
}
