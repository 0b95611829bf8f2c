package models

import (
	"context"
	"sync"
	"time"
)

// refTTL is how long intake trusts a remembered category or township: one
// deactivated by another process stops being accepted within this time.
// This process forgets its own unit changes at once.
const refTTL = time.Minute

// refCache remembers the ids of the active categories and townships that
// every tip names, so intake does not ask the database for them each time.
// Only hits are kept: a code added a moment ago is found on its first use.
type refCache struct {
	mu sync.Mutex
	m  map[string]refEntry
}

type refEntry struct {
	id uint64
	at time.Time
}

// id returns the remembered id of key, or loads it with load.
func (c *refCache) id(key string, now time.Time, load func() (uint64, error)) (uint64, error) {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < refTTL {
		return e.id, nil
	}
	id, err := load()
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]refEntry{}
	}
	c.m[key] = refEntry{id: id, at: now}
	c.mu.Unlock()
	return id, nil
}

func (c *refCache) forget() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// activeCategoryID is the id of an active category, ErrNotFound if none.
func (s *Store) activeCategoryID(ctx context.Context, code string) (uint64, error) {
	code = CategoryCodeKey(code)
	return s.refs.id("category:"+code, time.Now(), func() (uint64, error) {
		var c Category
		if err := s.db.WithContext(ctx).Select("id").Where("code = ? AND active = ?", code, true).Take(&c).Error; err != nil {
			return 0, interpret(err, "load category")
		}
		return c.ID, nil
	})
}

// activeTownshipID is the id of an active township, ErrNotFound if none.
func (s *Store) activeTownshipID(ctx context.Context, code string) (uint64, error) {
	code = UnitCodeKey(code)
	return s.refs.id("township:"+code, time.Now(), func() (uint64, error) {
		var u Unit
		if err := s.db.WithContext(ctx).Select("id").Where("code = ? AND kind = ? AND active = ?", code, UnitTownship, true).Take(&u).Error; err != nil {
			return 0, interpret(err, "load township")
		}
		return u.ID, nil
	})
}
