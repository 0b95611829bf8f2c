package models

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"gorm.io/gorm"
)

// Attachments are encrypted at rest with AES-256-GCM (DESIGN §10.1). Each
// row names the key that sealed it (attachments.key_id), so keys can
// rotate: new files are sealed with the highest key id configured, and a
// file keeps opening as long as its key id is still configured.
//
//   - Key 1 is derived from JIANFU_SECRET_KEY (purpose "attachment/1"): a
//     deployment with no further setting encrypts with it.
//   - JIANFU_FILE_KEYS adds keys of their own, "2:<base64 32 bytes>,...".
//     Adding key 2 makes new files use it; files of key 1 still open.
//   - Key id 0 marks a file stored before encryption: it is read as stored.
//
// The additional data binds the ciphertext to its file's SHA-256, so a
// sealed file copied into another row does not open there. Sealing
// happens in one gorm callback (registerFileSealing) for every attachment
// insert, whichever channel created it, so no code path can store a file
// in clear by forgetting a call.

// FileKeyDerived is the id of the key derived from the secret.
const FileKeyDerived = 1

// fileKeys holds the attachment keys and the one that seals new files.
type fileKeys struct {
	keys    map[int]cipher.AEAD
	current int
}

func newFileKeys(secretSubkey []byte, extra map[int][]byte) (fileKeys, error) {
	raw := map[int][]byte{FileKeyDerived: secretSubkey}
	for id, k := range extra {
		if id <= FileKeyDerived || id > 32767 {
			return fileKeys{}, fmt.Errorf("file key id %d: want 2 to 32767 (1 is derived from the secret key)", id)
		}
		if len(k) != 32 {
			return fileKeys{}, fmt.Errorf("file key %d: want 32 bytes", id)
		}
		raw[id] = k
	}
	fk := fileKeys{keys: map[int]cipher.AEAD{}}
	for id, k := range raw {
		block, err := aes.NewCipher(k)
		if err != nil {
			return fileKeys{}, err
		}
		if fk.keys[id], err = cipher.NewGCM(block); err != nil {
			return fileKeys{}, err
		}
	}
	fk.current = slices.Max(slices.Collect(maps.Keys(raw)))
	return fk, nil
}

func fileAAD(sha string) []byte { return []byte("jianfu/attachment/" + sha) }

// seal encrypts a file's content with the current key.
func (fk fileKeys) seal(sha string, plain []byte) (int, []byte, error) {
	aead := fk.keys[fk.current]
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := io.ReadFull(rand.Reader, out); err != nil {
		return 0, nil, err
	}
	return fk.current, aead.Seal(out, out, plain, fileAAD(sha)), nil
}

// open decrypts a stored file.
func (fk fileKeys) open(keyID int, sha string, data []byte) ([]byte, error) {
	if keyID == 0 {
		return data, nil // stored before encryption
	}
	aead, ok := fk.keys[keyID]
	if !ok {
		return nil, fmt.Errorf("file key %d is not configured (JIANFU_FILE_KEYS)", keyID)
	}
	if len(data) < aead.NonceSize() {
		return nil, errors.New("sealed file too short")
	}
	plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], fileAAD(sha))
	if err != nil {
		return nil, fmt.Errorf("decrypt file with key %d: %w", keyID, err)
	}
	return plain, nil
}

// registerFileSealing seals every attachment before gorm inserts it.
func (s *Store) registerFileSealing() error {
	sealOne := func(db *gorm.DB, a *Attachment) {
		if a.KeyID != 0 {
			return // sealed already (a retried insert of the same row)
		}
		id, sealed, err := s.files.seal(a.SHA256, a.Data)
		if err != nil {
			db.AddError(fmt.Errorf("seal attachment: %w", err))
			return
		}
		a.KeyID, a.Data = id, sealed
	}
	return s.db.Callback().Create().Before("gorm:create").Register("jianfu:seal_attachment", func(db *gorm.DB) {
		if db.Error != nil {
			return
		}
		switch d := db.Statement.Dest.(type) {
		case *Attachment:
			sealOne(db, d)
		case *[]Attachment:
			for i := range *d {
				sealOne(db, &(*d)[i])
			}
		case []Attachment:
			for i := range d {
				sealOne(db, &d[i])
			}
		case []*Attachment:
			for _, a := range d {
				sealOne(db, a)
			}
		}
	})
}
