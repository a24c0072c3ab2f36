package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends m's JSON encoding to b: the bytes json.Marshal gives for m, written out by hand. A
// history page is 50 messages, and encoding them by reflection was a third of the server's CPU for a page
// (docs/benchmarks.md, History 2026-12-07 afternoon). (A MarshalJSON method cannot help: encoding/json scans
// and compacts whatever a Marshaler returns, which cost more than its reflection saved.) The fields come in
// order, empty ones left out as omitempty and omitzero say; strings are escaped as encoding/json escapes them,
// HTML's <, > and & included; meta is compacted and escaped as a json.RawMessage is. It fails where json.Marshal
// fails: meta that is not JSON, a time outside the years 0–9999. TestAppendJSONMatchesEncodingJSON holds the
// two to the same bytes.
func (m *Message) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"conversation_id":`...)
	b = AppendJSONString(b, m.ConversationID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, m.Seq, 10)
	b = appendField(b, `,"id":`, m.ID)
	b = appendField(b, `,"sender_type":`, m.SenderType)
	b = appendField(b, `,"sender_id":`, m.SenderID)
	b = appendField(b, `,"sender_name":`, m.SenderName)
	b = appendField(b, `,"type":`, m.Type)
	b = appendField(b, `,"body":`, m.Body)
	b = appendField(b, `,"client_msg_id":`, m.ClientMsgID)
	if len(m.Meta) > 0 {
		var c bytes.Buffer
		if err := json.Compact(&c, m.Meta); err != nil {
			return b, err
		}
		var e bytes.Buffer
		json.HTMLEscape(&e, c.Bytes())
		b = append(b, `,"meta":`...)
		b = append(b, e.Bytes()...)
	}
	b, err := appendTime(b, m.TS)
	if err != nil {
		return b, err
	}
	if m.Hidden {
		b = append(b, `,"hidden":true`...)
	}
	return append(b, '}'), nil
}

// AppendMessageFrame appends the frame that carries m to a subscriber: the bytes json.Marshal gives for
// ServerFrame{Type: TypeMessage, Epoch: epoch, Message: m}. Every message is encoded once per audience on its
// way out (messaging.MessageDelivery).
func AppendMessageFrame(b []byte, epoch string, m *Message) ([]byte, error) {
	f := ServerFrame{Type: TypeMessage, Epoch: epoch, Message: m}
	return f.AppendJSON(b)
}

// AppendMessages appends msgs as json.Marshal encodes a []*Message: an array, or null for a nil slice.
func AppendMessages(b []byte, msgs []*Message) ([]byte, error) {
	if msgs == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i, m := range msgs {
		if i > 0 {
			b = append(b, ',')
		}
		if m == nil {
			b = append(b, "null"...)
			continue
		}
		var err error
		if b, err = m.AppendJSON(b); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

// appendTime appends the ts field (omitzero) as json.Marshal writes a time.Time, and fails where it fails.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	if t.IsZero() {
		return b, nil
	}
	if y := t.Year(); y < 0 || y > 9999 {
		return b, errors.New("protocol: time outside of the years 0 to 9999")
	}
	b = append(b, `,"ts":"`...)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// AppendJSON appends f's JSON encoding to b: the bytes json.Marshal gives for f. The server encodes every
// acknowledgement, receipt and error frame it sends, and encoding/json's reflection was most of that cost. An
// event, a heartbeat's heads and a hello's principal are encoded by encoding/json and put in their place;
// every other field is written by hand, in the struct's order, omitted as omitempty and omitzero say. It fails
// where json.Marshal fails. TestAppendFrameJSONMatchesEncodingJSON holds the two to the same bytes.
func (f *ServerFrame) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"type":`...)
	b = AppendJSONString(b, f.Type)
	b = appendField(b, `,"ref":`, f.Ref)
	b = appendField(b, `,"epoch":`, f.Epoch)
	b = appendField(b, `,"conversation_id":`, f.ConversationID)
	b = appendField(b, `,"stream":`, f.Stream)
	b = appendField(b, `,"client_msg_id":`, f.ClientMsgID)
	b = appendUint(b, `,"seq":`, f.Seq)
	b = appendField(b, `,"id":`, f.ID)
	b, err := appendTime(b, f.TS)
	if err != nil {
		return b, err
	}
	b = appendTrue(b, `,"duplicate":true`, f.Duplicate)
	if f.Message != nil {
		if b, err = f.Message.AppendJSON(append(b, `,"message":`...)); err != nil {
			return b, err
		}
	}
	if f.Event != nil {
		if b, err = appendMarshaled(b, `,"event":`, f.Event); err != nil {
			return b, err
		}
	}
	if f.Recovered != nil {
		b = strconv.AppendBool(append(b, `,"recovered":`...), *f.Recovered)
	}
	b = appendUint(b, `,"next_seq":`, f.NextSeq)
	b = appendTrue(b, `,"reset":true`, f.Reset)
	b = appendUint(b, `,"head_seq":`, f.HeadSeq)
	b = appendField(b, `,"side":`, f.Side)
	b = appendField(b, `,"name":`, f.Name)
	if len(f.Heads) > 0 {
		if b, err = appendMarshaled(b, `,"heads":`, f.Heads); err != nil {
			return b, err
		}
	}
	b = appendInt(b, `,"position":`, f.Position)
	b = appendInt(b, `,"estimated_wait_s":`, f.EstimatedWaitS)
	if f.Principal != nil {
		if b, err = appendMarshaled(b, `,"principal":`, f.Principal); err != nil {
			return b, err
		}
	}
	b = appendInt(b, `,"heartbeat_s":`, f.HeartbeatS)
	b = appendField(b, `,"code":`, f.Code)
	b = appendField(b, `,"error":`, f.Error)
	b = appendField(b, `,"field":`, f.Field)
	return append(b, '}'), nil
}

// AppendJSON appends f's JSON encoding to b: the bytes json.Marshal gives for f (subscriptions by
// encoding/json, the rest by hand). Clients encode every send with it.
func (f *ClientFrame) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"type":`...)
	b = AppendJSONString(b, f.Type)
	b = appendField(b, `,"id":`, f.ID)
	b = appendField(b, `,"token":`, f.Token)
	if len(f.Subscriptions) > 0 {
		var err error
		if b, err = appendMarshaled(b, `,"subscriptions":`, f.Subscriptions); err != nil {
			return b, err
		}
	}
	b = appendField(b, `,"conversation_id":`, f.ConversationID)
	b = appendField(b, `,"client_msg_id":`, f.ClientMsgID)
	b = appendField(b, `,"body":`, f.Body)
	b = appendField(b, `,"msg_type":`, f.MsgType)
	b = appendUint(b, `,"seq":`, f.Seq)
	return append(b, '}'), nil
}

// appendMarshaled appends a field encoded by encoding/json.
func appendMarshaled(b []byte, key string, v any) ([]byte, error) {
	e, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(append(b, key...), e...), nil
}

// appendUint appends a number field that is omitted when 0 (omitempty).
func appendUint(b []byte, key string, v uint64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendUint(append(b, key...), v, 10)
}

func appendInt(b []byte, key string, v int) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(append(b, key...), int64(v), 10)
}

// appendTrue appends field (the key and true) when v is set: a bool with omitempty.
func appendTrue(b []byte, field string, v bool) []byte {
	if !v {
		return b
	}
	return append(b, field...)
}

// appendField appends a string field that is omitted when empty (omitempty).
func appendField(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return AppendJSONString(append(b, key...), v)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string the way json.Marshal writes one: \" and \\; \b, \f, \n, \r and
// \t; other control characters and HTML's <, > and & as \u00XX; U+2028 and U+2029 as \u2028 and \u2029; each
// byte of invalid UTF-8 as \ufffd.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
