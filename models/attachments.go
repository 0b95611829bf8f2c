package models

import (
	"context"
	"fmt"
)

// Who may download which stored file. A file can name the person who
// reported even when the tip is anonymous: a photo of an office, a
// screenshot of a work group with its members, a document's author. So the
// tipster's own files (of the tip and of their later messages) are for the
// office, administrators and leaders only. A unit liaison gets the evidence
// of their own unit's assignments and nothing else: other units' evidence
// stays as invisible as their assignments. Whatever a viewer may not
// download is answered ErrNotFound, so a guessed id tells nothing.

// SeesTipFiles reports whether p may see the tipster's files of a case p
// can see.
func SeesTipFiles(p Principal) bool {
	switch p.Role {
	case RoleOffice, RoleAdmin, RoleLeader:
		return true
	}
	return false
}

// AttachmentFile is a stored file with its content.
type AttachmentFile struct {
	AttachmentView
	CaseID uint64
	Data   []byte
}

// AttachmentFile returns file id with its content if p may download it.
func (s *Store) AttachmentFile(ctx context.Context, p Principal, id uint64) (AttachmentFile, error) {
	db := s.db.WithContext(ctx)
	var out AttachmentFile
	var a Attachment
	err := db.Select("id, case_id, assignment_id, filename, content_type, size, created_at").First(&a, id).Error
	if err != nil {
		return out, interpret(err, fmt.Sprintf("load attachment %d", id))
	}
	ok, err := visible(db, p, a.CaseID)
	if err != nil {
		return out, err
	}
	switch {
	case !ok:
	case a.AssignmentID == nil:
		ok = SeesTipFiles(p)
	case p.Role == RoleLiaison:
		var n int64
		err := db.Model(&Assignment{}).Where("id = ? AND unit_id = ?", *a.AssignmentID, *p.UnitID).Count(&n).Error
		if err != nil {
			return out, fmt.Errorf("check evidence %d: %w", id, err)
		}
		ok = n > 0
	}
	if !ok {
		return out, fmt.Errorf("attachment %d: %w", id, ErrNotFound)
	}
	var content Attachment
	if err := db.Select("id, sha256, key_id, data").First(&content, id).Error; err != nil {
		return out, fmt.Errorf("load attachment %d content: %w", id, err)
	}
	plain, err := s.files.open(content.KeyID, content.SHA256, content.Data)
	if err != nil {
		return out, fmt.Errorf("attachment %d: %w", id, err)
	}
	out.AttachmentView, out.CaseID, out.Data = attachmentView(a), a.CaseID, plain
	return out, nil
}
