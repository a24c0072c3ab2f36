package httpapi

import (
	"bytes"
	"unicode/utf8"

	"github.com/parley-chat/parley/protocol"
)

// decodeClientFrame decodes the common shape of a client frame without reflection: an object of the
// ClientFrame's string fields and seq, with exactly-cased keys, strings without escapes and seq a plain
// whole number. It reports false for anything else — subscriptions, an escape, null, another number form,
// an unknown or differently cased key, malformed JSON — and the caller decodes the frame with unmarshalStrict,
// which accepts or refuses it with its exact errors. When it reports true, f holds what unmarshalStrict would
// have decoded (a fuzz test checks this); it may have filled f partly when it reports false. Decoding with
// encoding/json's Decoder was ~6 % of the server's CPU at 2,000 messages/s (docs/benchmarks.md).
func decodeClientFrame(data []byte, f *protocol.ClientFrame) bool {
	if !utf8.Valid(data) {
		return false
	}
	d := frameDecoder{b: data}
	if !d.byte('{') {
		return false
	}
	if d.byte('}') {
		return d.end()
	}
	for {
		key, ok := d.str()
		if !ok || !d.byte(':') {
			return false
		}
		var dst *string
		switch string(key) {
		case "type":
			dst = &f.Type
		case "id":
			dst = &f.ID
		case "token":
			dst = &f.Token
		case "conversation_id":
			dst = &f.ConversationID
		case "client_msg_id":
			dst = &f.ClientMsgID
		case "body":
			dst = &f.Body
		case "msg_type":
			dst = &f.MsgType
		case "seq":
			n, ok := d.uint()
			if !ok {
				return false
			}
			f.Seq = n
		default:
			return false
		}
		if dst != nil {
			v, ok := d.str()
			if !ok {
				return false
			}
			*dst = string(v)
		}
		if d.byte(',') {
			continue
		}
		return d.byte('}') && d.end()
	}
}

// frameDecoder reads a JSON text from b, at i.
type frameDecoder struct {
	b []byte
	i int
}

func (d *frameDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// byte consumes c after optional whitespace, if it is next.
func (d *frameDecoder) byte(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (d *frameDecoder) end() bool {
	d.space()
	return d.i == len(d.b)
}

// str reads a string without escapes or control characters (the input is valid UTF-8, so its bytes are
// the string's).
func (d *frameDecoder) str() ([]byte, bool) {
	if !d.byte('"') {
		return nil, false
	}
	rest := d.b[d.i:]
	n := bytes.IndexByte(rest, '"')
	if n < 0 {
		return nil, false
	}
	s := rest[:n]
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return nil, false
		}
	}
	d.i += n + 1
	return s, true
}

// uint reads a whole number without sign, fraction or exponent that fits in a uint64.
func (d *frameDecoder) uint() (uint64, bool) {
	d.space()
	start := d.i
	var n uint64
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		digit := uint64(d.b[d.i] - '0')
		if n > (1<<64-1-digit)/10 {
			return 0, false
		}
		n = n*10 + digit
		d.i++
	}
	switch {
	case d.i == start:
		return 0, false
	case d.b[start] == '0' && d.i-start > 1:
		return 0, false // a leading zero is not JSON
	case d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E'):
		return 0, false
	}
	return n, true
}
