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

// newReceipt draws 16 random digits. With an idempotency key the receipt is
// derived from it, so a retried submission gets the same receipt back
// without the receipt ever being stored.
func (s *Store) newReceipt(idempotencyKey string) (string, error) {
	if idempotencyKey != "" {
		m := hmac.New(sha256.New, s.subkey("receipt-from-key"))
		m.Write([]byte(idempotencyKey))
		n := new(big.Int).SetBytes(m.Sum(nil))
		return fmt.Sprintf("%016s", n.Mod(n, receiptSpace).String()), nil
	}
	n, err := rand.Int(rand.Reader, receiptSpace)
	if err != nil {
		return "", fmt.Errorf("draw receipt: %w", err)
	}
	return fmt.Sprintf("%016s", n.String()), nil
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
