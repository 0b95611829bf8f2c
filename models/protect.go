package models

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// Tipster protection (DESIGN §5). One configured secret is split into
// purpose keys so a leak of one derived value says nothing of the others.

func (s *Store) subkey(purpose string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("jianfu/" + purpose))
	return m.Sum(nil)
}

// keyedHash is HMAC-SHA256 under a purpose key, hex encoded.
func (s *Store) keyedHash(purpose, value string) string {
	m := hmac.New(sha256.New, s.subkey(purpose))
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// receiptHash is how a receipt is stored and looked up.
func (s *Store) receiptHash(receipt string) string { return s.keyedHash("receipt", receipt) }

// ClientHash turns a client address into an opaque key for rate limiting
// and logs; the address itself is never stored.
func (s *Store) ClientHash(addr string) string { return s.keyedHash("client", addr)[:16] }

var receiptSpace = new(big.Int).Exp(big.NewInt(10), big.NewInt(16), nil) // 10^16 ≈ 2^53.15

// newReceipt draws 16 random digits from crypto/rand. It is never derived
// from anything the client sends (an Idempotency-Key included), so knowing
// a key tells nothing about a receipt.
func (s *Store) newReceipt() (string, error) {
	n, err := rand.Int(rand.Reader, receiptSpace)
	if err != nil {
		return "", fmt.Errorf("draw receipt: %w", err)
	}
	return fmt.Sprintf("%016s", n.String()), nil
}

// receiptAEAD is the cipher that seals a receipt for an idempotent replay.
// Its key comes from the secret AND the raw Idempotency-Key, which is
// never stored: the database alone (a backup, a dump) cannot give the
// receipt back, only a request that holds the key can.
func (s *Store) receiptAEAD(idempotencyKey string) (cipher.AEAD, error) {
	m := hmac.New(sha256.New, s.subkey("receipt-seal"))
	m.Write([]byte(idempotencyKey))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealReceipt encrypts receipt for a replay with the same key; keyHash is
// authenticated with it, so a seal copied to another row does not open.
func (s *Store) sealReceipt(idempotencyKey, keyHash, receipt string) ([]byte, error) {
	aead, err := s.receiptAEAD(idempotencyKey)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, []byte(receipt), []byte(keyHash)), nil
}

// openReceipt reverses sealReceipt.
func (s *Store) openReceipt(idempotencyKey, keyHash string, sealed []byte) (string, error) {
	aead, err := s.receiptAEAD(idempotencyKey)
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize() {
		return "", errors.New("sealed receipt too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(keyHash))
	if err != nil {
		return "", fmt.Errorf("open sealed receipt: %w", err)
	}
	return string(plain), nil
}

// Contact is a real-name tipster's contact details.
type Contact struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Email string `json:"email"`
}

// sealContact encrypts contact details with AES-256-GCM; the random nonce
// is prepended to the ciphertext.
func (s *Store) sealContact(c Contact) ([]byte, error) {
	plain, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	aead, err := s.contactAEAD()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plain, []byte("contact")), nil
}

func (s *Store) openContact(sealed []byte) (Contact, error) {
	var c Contact
	aead, err := s.contactAEAD()
	if err != nil {
		return c, err
	}
	if len(sealed) < aead.NonceSize() {
		return c, errors.New("contact ciphertext too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte("contact"))
	if err != nil {
		return c, fmt.Errorf("decrypt contact (wrong JIANFU_SECRET_KEY?): %w", err)
	}
	return c, json.Unmarshal(plain, &c)
}

func (s *Store) contactAEAD() (cipher.AEAD, error) {
	block, err := aes.NewCipher(s.subkey("contact"))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
