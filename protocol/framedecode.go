package protocol

import (
	"bytes"
	"math"
	"time"
	"unicode/utf8"
)

// DecodeClientFrame decodes the common shape of a client frame without reflection: an object of the
// ClientFrame's string fields and seq, with exactly-cased keys, strings without escapes and seq a plain
// whole number. It reports false for anything else — subscriptions, an escape, null, another number form,
// an unknown or differently cased key, malformed JSON — and the caller decodes the frame with encoding/json
// (the server with its strict decoder, which accepts or refuses it with its exact errors). When it reports
// true, f holds what encoding/json would have decoded (a fuzz test in the server checks this against its
// strict decoder); it may have filled f partly when it reports false, so the caller starts again from a zero
// frame. Decoding with encoding/json's Decoder was ~6 % of the server's CPU at 2,000 messages/s
// (docs/benchmarks.md).
func DecodeClientFrame(data []byte, f *ClientFrame) bool {
	if !utf8.Valid(data) {
		return false
	}
	d := frameDecoder{b: data}
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "type":
			return d.strTo(&f.Type)
		case "id":
			return d.strTo(&f.ID)
		case "token":
			return d.strTo(&f.Token)
		case "conversation_id":
			return d.strTo(&f.ConversationID)
		case "client_msg_id":
			return d.strTo(&f.ClientMsgID)
		case "body":
			return d.strTo(&f.Body)
		case "msg_type":
			return d.strTo(&f.MsgType)
		case "seq":
			return d.uintTo(&f.Seq)
		}
		return false
	}) && d.end()
}

// DecodeServerFrame is DecodeClientFrame's counterpart for a client: it decodes the frames a client reads
// most — acknowledgements, messages (without meta), errors, read receipts, typing — without reflection, and
// reports false for anything else (a heartbeat's heads, a hello's principal, an event, a message's meta, an
// escape in a string, null, a negative or fractional number, an unknown or differently cased key, malformed
// JSON), for the caller to decode the frame with encoding/json from a zero ServerFrame. When it reports true,
// f holds exactly what json.Unmarshal gives (FuzzDecodeServerFrame). A client of the benchmark's S2 spent a
// sixth of its CPU in json.Unmarshal of its acknowledgements (docs/benchmarks.md, History 2026-12-07 night).
func DecodeServerFrame(data []byte, f *ServerFrame) bool {
	if !utf8.Valid(data) {
		return false
	}
	d := frameDecoder{b: data}
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "type":
			return d.strTo(&f.Type)
		case "ref":
			return d.strTo(&f.Ref)
		case "epoch":
			return d.strTo(&f.Epoch)
		case "conversation_id":
			return d.strTo(&f.ConversationID)
		case "stream":
			return d.strTo(&f.Stream)
		case "client_msg_id":
			return d.strTo(&f.ClientMsgID)
		case "id":
			return d.strTo(&f.ID)
		case "side":
			return d.strTo(&f.Side)
		case "name":
			return d.strTo(&f.Name)
		case "code":
			return d.strTo(&f.Code)
		case "error":
			return d.strTo(&f.Error)
		case "field":
			return d.strTo(&f.Field)
		case "seq":
			return d.uintTo(&f.Seq)
		case "next_seq":
			return d.uintTo(&f.NextSeq)
		case "head_seq":
			return d.uintTo(&f.HeadSeq)
		case "position":
			return d.intTo(&f.Position)
		case "estimated_wait_s":
			return d.intTo(&f.EstimatedWaitS)
		case "heartbeat_s":
			return d.intTo(&f.HeartbeatS)
		case "duplicate":
			return d.boolTo(&f.Duplicate)
		case "reset":
			return d.boolTo(&f.Reset)
		case "ts":
			return d.timeTo(&f.TS)
		case "message":
			if f.Message == nil { // a repeated key decodes into the same message, as encoding/json does
				f.Message = new(Message)
			}
			return d.message(f.Message)
		}
		return false
	}) && d.end()
}

// message decodes a Message object without meta.
func (d *frameDecoder) message(m *Message) bool {
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "conversation_id":
			return d.strTo(&m.ConversationID)
		case "seq":
			return d.uintTo(&m.Seq)
		case "id":
			return d.strTo(&m.ID)
		case "sender_type":
			return d.strTo(&m.SenderType)
		case "sender_id":
			return d.strTo(&m.SenderID)
		case "sender_name":
			return d.strTo(&m.SenderName)
		case "type":
			return d.strTo(&m.Type)
		case "body":
			return d.strTo(&m.Body)
		case "client_msg_id":
			return d.strTo(&m.ClientMsgID)
		case "ts":
			return d.timeTo(&m.TS)
		case "hidden":
			return d.boolTo(&m.Hidden)
		}
		return false
	})
}

// object reads an object whose every key field accepts: field reads the key's value.
func (d *frameDecoder) object(field func(key []byte) bool) bool {
	if !d.byte('{') {
		return false
	}
	if d.byte('}') {
		return true
	}
	for {
		key, ok := d.str()
		if !ok || !d.byte(':') || !field(key) {
			return false
		}
		if d.byte(',') {
			continue
		}
		return d.byte('}')
	}
}

func (d *frameDecoder) strTo(dst *string) bool {
	v, ok := d.str()
	if ok {
		*dst = string(v)
	}
	return ok
}

func (d *frameDecoder) uintTo(dst *uint64) bool {
	v, ok := d.uint()
	if ok {
		*dst = v
	}
	return ok
}

// intTo reads a whole number that is not negative into an int (a negative one is left to encoding/json).
func (d *frameDecoder) intTo(dst *int) bool {
	v, ok := d.uint()
	if ok && v <= math.MaxInt {
		*dst = int(v)
		return true
	}
	return false
}

func (d *frameDecoder) boolTo(dst *bool) bool {
	d.space()
	switch {
	case bytes.HasPrefix(d.b[d.i:], []byte("true")):
		*dst, d.i = true, d.i+4
	case bytes.HasPrefix(d.b[d.i:], []byte("false")):
		*dst, d.i = false, d.i+5
	default:
		return false
	}
	return d.delimited()
}

// timeTo reads a string without escapes as encoding/json reads it into a time.Time: the quoted text given to
// Time.UnmarshalJSON.
func (d *frameDecoder) timeTo(dst *time.Time) bool {
	d.space()
	start := d.i
	if _, ok := d.str(); !ok {
		return false
	}
	var t time.Time
	if t.UnmarshalJSON(d.b[start:d.i]) != nil {
		return false
	}
	*dst = t
	return true
}

// delimited reports whether a literal just read ends where JSON lets it end (not "truex").
func (d *frameDecoder) delimited() bool {
	if d.i == len(d.b) {
		return true
	}
	switch d.b[d.i] {
	case ' ', '\t', '\n', '\r', ',', '}', ']':
		return true
	}
	return false
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
