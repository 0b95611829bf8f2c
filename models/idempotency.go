package models

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Idempotent submission (DESIGN §10.1). A client that sends an
// Idempotency-Key and retries after a lost answer gets the first receipt
// back; anyone else who sends the same key (a guess such as "1", a counter,
// a timestamp) with a different tip gets ErrIdempotencyKeyReused and no
// receipt, and their tip is not stored under someone else's receipt.
//
// A tip row keeps three things for IdempotencyWindow: the keyed hash of the
// key (tips.idempotency_key, unique), the keyed hash of the canonical
// request (fields and file SHA-256s), and the receipt sealed under a key
// derived from the secret and the raw Idempotency-Key (protect.go). The
// receipt itself is random and never derived from the key. After the
// window the three are cleared (PurgeIdempotency), and the key may be used
// again.
//
// The intake writer looks the keys of a whole batch up in one query before
// its transaction (withoutSeenKeys, intake.go); only a tip whose key is
// found reads its row (replay). Two requests with one key that reach the
// database together are parted by the unique index.

// IdempotencyWindow is how long a key answers a replay.
const IdempotencyWindow = 24 * time.Hour

// ErrIdempotencyKeyReused: the key was used for a different request within
// the window.
var ErrIdempotencyKeyReused = errors.New("idempotency key reused with a different request")

// requestHash is the keyed hash of what the tip says: every field after
// validation, then the content type and SHA-256 of each file in order.
// Each value is length-prefixed, so no two requests encode alike.
func (s *Store) requestHash(in TipInput) string {
	m := hmac.New(sha256.New, s.subkey("idempotency-request"))
	put := func(v string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(v)))
		m.Write(n[:])
		m.Write([]byte(v))
	}
	for _, v := range []string{in.Channel, in.Category, in.Title, in.Content, in.Township, in.ImplicatedUnit,
		in.OccurredOn, strconv.FormatBool(in.Anonymous), in.Contact.Name, in.Contact.Phone, in.Contact.Email,
		strconv.Itoa(len(in.Files))} {
		put(v)
	}
	for _, f := range in.Files {
		put(f.ContentType)
		put(f.SHA256)
	}
	return fmt.Sprintf("%x", m.Sum(nil))
}

// replay answers a retried submission: the first receipt when the request
// is the same, ErrIdempotencyKeyReused when it is not, ErrNotFound when
// the key is unused or its window has passed (the old row then forgets it).
func (s *Store) replay(ctx context.Context, key, keyHash, reqHash string) (TipReceipt, error) {
	var row struct {
		TipID              uint64
		CreatedAt          time.Time
		IdempotencyRequest *string
		ReceiptSeal        []byte
		ID                 uint64
		Stage              string
		DueAt              *time.Time
	}
	db := s.db.WithContext(ctx)
	err := db.Table("tips").Select("tips.id AS tip_id, tips.created_at, tips.idempotency_request, tips.receipt_seal, "+
		"cases.id, cases.stage, cases.due_at").
		Joins("JOIN cases ON cases.tip_id = tips.id").Where("tips.idempotency_key = ?", keyHash).Take(&row).Error
	if err != nil {
		return TipReceipt{}, interpret(err, "load idempotent tip")
	}
	if !row.CreatedAt.After(s.clock().Add(-IdempotencyWindow)) {
		err := db.Model(&Tip{}).Where("id = ? AND idempotency_key = ?", row.TipID, keyHash).
			Updates(map[string]any{"idempotency_key": nil, "idempotency_request": nil, "receipt_seal": nil}).Error
		if err != nil {
			return TipReceipt{}, fmt.Errorf("expire idempotency key of tip %d: %w", row.TipID, err)
		}
		return TipReceipt{}, fmt.Errorf("idempotency key expired: %w", ErrNotFound)
	}
	// A row from before request hashes were kept cannot prove it is the
	// same request: it is treated as a different one.
	if row.IdempotencyRequest == nil || !hmac.Equal([]byte(*row.IdempotencyRequest), []byte(reqHash)) {
		return TipReceipt{}, ErrIdempotencyKeyReused
	}
	receipt, err := s.openReceipt(key, keyHash, row.ReceiptSeal)
	if err != nil {
		return TipReceipt{}, err
	}
	r := TipReceipt{Receipt: receipt, CaseID: row.ID, Stage: row.Stage, Replayed: true}
	if row.DueAt != nil {
		r.DueAt = *row.DueAt
	}
	return r, nil
}

// PurgeIdempotency forgets the keys, request hashes and sealed receipts of
// tips older than IdempotencyWindow, and reports how many tips it cleared.
// The scan runs on the unique index of idempotency_key, which holds only
// about a window's worth of keys.
func (s *Store) PurgeIdempotency(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Model(&Tip{}).
		Where("idempotency_key IS NOT NULL AND created_at <= ?", s.clock().Add(-IdempotencyWindow)).
		Updates(map[string]any{"idempotency_key": nil, "idempotency_request": nil, "receipt_seal": nil})
	if res.Error != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", res.Error)
	}
	return res.RowsAffected, nil
}
