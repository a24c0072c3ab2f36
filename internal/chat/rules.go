package chat

import (
	"crypto/sha256"
	"strings"
	"unicode/utf8"
)

// Message limits (SPEC §3.5, RELIABILITY §1).
const (
	MaxBodyRunes       = 4000
	MaxClientMsgIDLen  = 64
	MaxFrameBytes      = 16 << 10
	DefaultHistoryPage = 50
	MaxHistoryPage     = 200
)

// ValidateBody checks a message body: valid UTF-8, at most MaxBodyRunes characters, not blank. The body is
// stored exactly as sent; nothing is trimmed or normalized, so every script and emoji round-trips byte for byte.
func ValidateBody(body string) error {
	if !utf8.ValidString(body) {
		return Invalid("body", "the message is not valid UTF-8")
	}
	if strings.TrimSpace(body) == "" {
		return Invalid("body", "the message is empty")
	}
	if n := utf8.RuneCountInString(body); n > MaxBodyRunes {
		return &Error{Code: CodeTooLarge, Field: "body", Message: "the message is longer than 4000 characters"}
	}
	return nil
}

// ValidateClientMsgID checks a client message id: 1 to 64 printable ASCII characters.
func ValidateClientMsgID(id string) error {
	if id == "" || len(id) > MaxClientMsgIDLen {
		return Invalid("client_msg_id", "client_msg_id must be 1 to %d printable ASCII characters", MaxClientMsgIDLen)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return Invalid("client_msg_id", "client_msg_id must be 1 to %d printable ASCII characters", MaxClientMsgIDLen)
		}
	}
	return nil
}

// BodyHash is what idempotency compares: a retry with the same client message id must carry the same body and
// type, or it is a reused key.
func BodyHash(t MessageType, body string) []byte {
	h := sha256.New()
	h.Write([]byte(t))
	h.Write([]byte{0})
	h.Write([]byte(body))
	return h.Sum(nil)
}

// ValidSeqCursor reports whether a client-sent sequence number is usable as a cursor.
func ValidSeqCursor(seq int64) bool { return seq >= 0 && seq < 1<<53 }
