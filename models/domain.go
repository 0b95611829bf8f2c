package models

import (
	"context"

	"gorm.io/gorm"
)

// DB is the store's connection for the domain packages under models/
// (models/registry and its kind), which keep their own tables and
// queries (STYLE 17). Nothing outside models/ calls it: api and worker go
// through store methods.
func (s *Store) DB(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }
