package models

import (
	"context"

	"gorm.io/gorm"
)

// DB is the store's connection for the domain packages under models/
// (models/registry, models/audit, models/evaluation), which keep their
// own tables and queries (STYLE 17); with the store's clock (Now) they
// need nothing else. api and worker go through store methods.
func (s *Store) DB(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }
