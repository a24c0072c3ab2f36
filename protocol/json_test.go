package protocol

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// tricky are strings that exercise every branch of the escaping: quotes and backslashes, every control
// character, HTML's three, U+2028/U+2029, invalid and truncated UTF-8, the replacement character itself, and
// characters of 2, 3 and 4 bytes.
var tricky = []string{
	"", "plain", `"quoted" \back\slash/`, "<script>alert(1)</script> & co", "line\nbreak\r\ttab\b\f\x00\x01\x1f\x7f",
	"\u2028\u2029 separators", "bad \xff\xfe utf-8", "truncated \xe4\xbd", "\ufffd replacement", "你好，世界 émoji 😀",
	"\xed\xa0\x80 surrogate", strings.Repeat("long ", 500),
}

var metas = []string{
	`{"event": "assigned", "name": "<Ann & Bob>", "n": [1, 2.5, null, true], "s": "\u2028"}`, `{}`, "\t[ 1 ,\n2 ]", `"x"`,
	`{"a":`, `not json`,
}

func randomString(rng *rand.Rand) string {
	if rng.IntN(3) == 0 {
		return tricky[rng.IntN(len(tricky))]
	}
	b := make([]byte, rng.IntN(40))
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return string(b)
}

func randomMessage(rng *rand.Rand) *Message {
	pick := func() string {
		if rng.IntN(4) == 0 {
			return ""
		}
		return randomString(rng)
	}
	m := &Message{ConversationID: pick(), Seq: rng.Uint64() >> rng.IntN(64), ID: pick(), SenderType: pick(), SenderID: pick(),
		SenderName: pick(), Type: pick(), Body: pick(), ClientMsgID: pick(), Hidden: rng.IntN(2) == 0}
	switch rng.IntN(4) {
	case 0:
		m.TS = time.UnixMilli(rng.Int64N(4102444800000)).UTC()
	case 1:
		m.TS = time.Unix(rng.Int64N(4102444800), rng.Int64N(1e9)).In(time.FixedZone("x", (rng.IntN(48)-24)*1800))
	}
	if rng.IntN(3) == 0 {
		m.Meta = json.RawMessage(metas[rng.IntN(len(metas))])
	}
	return m
}

// sameEncoding fails the test unless AppendJSON gives the bytes json.Marshal gives for m, or fails as it does.
func sameEncoding(t *testing.T, m *Message) {
	t.Helper()
	want, werr := json.Marshal(m)
	got, gerr := m.AppendJSON([]byte("prefix"))
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("message %#v: AppendJSON error %v, json.Marshal error %v", m, gerr, werr)
	}
	if werr == nil && string(got) != "prefix"+string(want) {
		t.Fatalf("message %#v:\n got %q\nwant %q", m, got, "prefix"+string(want))
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range tricky {
		sameEncoding(t, &Message{ConversationID: s, Body: s, SenderName: s, ClientMsgID: s, TS: time.UnixMilli(1765000000123).UTC()})
	}
	for _, meta := range metas {
		sameEncoding(t, &Message{ConversationID: "c", Meta: json.RawMessage(meta)})
	}
	sameEncoding(t, &Message{})                                                                      // every omitted field omitted
	sameEncoding(t, &Message{ConversationID: "c", Seq: 7, Hidden: true})                             // a hidden entry
	sameEncoding(t, &Message{ConversationID: "c", TS: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}) // refused by both
	sameEncoding(t, &Message{ConversationID: "c", TS: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)})
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		sameEncoding(t, randomMessage(rng))
	}

	// A page of messages, as the history answer holds it; an empty one and a nil one.
	for _, n := range []int{0, 1, 50} {
		page := []*Message{}
		for len(page) < n {
			if m := randomMessage(rng); m.Meta == nil || json.Valid(m.Meta) {
				page = append(page, m)
			}
		}
		want, err := json.Marshal(page)
		got, gerr := AppendMessages(nil, page)
		if err != nil || gerr != nil || !bytes.Equal(got, want) {
			t.Fatalf("page of %d: %v %v\n got %s\nwant %s", n, err, gerr, got, want)
		}
	}
	for range 2000 {
		m := randomMessage(rng)
		epoch := ""
		if rng.IntN(4) > 0 {
			epoch = randomString(rng)
		}
		want, werr := json.Marshal(ServerFrame{Type: TypeMessage, Epoch: epoch, Message: m})
		got, gerr := AppendMessageFrame(nil, epoch, m)
		if (gerr == nil) != (werr == nil) || (werr == nil && !bytes.Equal(got, want)) {
			t.Fatalf("frame of %#v: %v %v\n got %s\nwant %s", m, gerr, werr, got, want)
		}
	}
	if got, _ := AppendMessages(nil, []*Message{nil}); string(got) != "[null]" {
		t.Fatalf("a nil message: %s", got)
	}
	if got, _ := AppendMessages(nil, nil); string(got) != "null" {
		t.Fatalf("a nil page: %s", got)
	}
	if got, want := AppendJSONString(nil, tricky[4]), mustMarshal(t, tricky[4]); !bytes.Equal(got, want) {
		t.Fatalf("string: %s, want %s", got, want)
	}
}

// TestAppendFrameJSONMatchesEncodingJSON holds ServerFrame.AppendJSON and ClientFrame.AppendJSON to
// json.Marshal: the same bytes, or an error where it fails, over every field, set and unset.
func TestAppendFrameJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pick := func() string {
		if rng.IntN(3) == 0 {
			return ""
		}
		return randomString(rng)
	}
	num := func() uint64 {
		if rng.IntN(3) == 0 {
			return 0
		}
		return rng.Uint64() >> rng.IntN(64)
	}
	small := func() int { return rng.IntN(5) - 2 }
	same := func(v interface{ AppendJSON([]byte) ([]byte, error) }) {
		t.Helper()
		want, werr := json.Marshal(v)
		got, gerr := v.AppendJSON([]byte("prefix"))
		if (gerr == nil) != (werr == nil) || (werr == nil && string(got) != "prefix"+string(want)) {
			t.Fatalf("%#v: AppendJSON error %v, json.Marshal error %v\n got %q\nwant %q", v, gerr, werr, got, "prefix"+string(want))
		}
	}
	same(&ServerFrame{})
	same(&ClientFrame{})
	same(&ServerFrame{Type: TypeAck, TS: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}) // refused by both
	same(&ServerFrame{Type: TypeEvent, Event: &Event{Stream: "s", Payload: json.RawMessage(`{"a":`)}})
	for range 20000 {
		f := &ServerFrame{Type: pick(), Ref: pick(), Epoch: pick(), ConversationID: pick(), Stream: pick(), ClientMsgID: pick(),
			Seq: num(), ID: pick(), Duplicate: rng.IntN(2) == 0, NextSeq: num(), Reset: rng.IntN(2) == 0, HeadSeq: num(),
			Side: pick(), Name: pick(), Position: small(), EstimatedWaitS: small() * 60, HeartbeatS: small() * 25,
			Code: pick(), Error: pick(), Field: pick()}
		if rng.IntN(2) == 0 {
			f.TS = randomMessage(rng).TS
		}
		switch rng.IntN(6) {
		case 0:
			f.Message = randomMessage(rng)
		case 1:
			f.Event = &Event{Stream: pick(), Seq: num(), Kind: pick(), ConversationID: pick(), TS: randomMessage(rng).TS}
			if rng.IntN(2) == 0 {
				f.Event.Payload = json.RawMessage(metas[rng.IntN(len(metas))])
			}
		case 2:
			f.Heads = map[string]uint64{}
			for range rng.IntN(3) {
				f.Heads[pick()] = num()
			}
		case 3:
			r := rng.IntN(2) == 0
			f.Recovered = &r
			f.Principal = &Principal{Kind: pick(), ID: pick(), Name: pick(), Role: pick(), SiteID: pick()}
		}
		same(f)
		c := &ClientFrame{Type: pick(), ID: pick(), Token: pick(), ConversationID: pick(), ClientMsgID: pick(), Body: pick(),
			MsgType: pick(), Seq: num()}
		for range rng.IntN(3) {
			c.Subscriptions = append(c.Subscriptions, Cursor{ConversationID: pick(), Stream: pick(), LastSeq: num()})
		}
		same(c)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzAppendJSON(f *testing.F) {
	for i, s := range tricky {
		f.Add(s, s, uint64(len(s)), int64(1765000000123), []byte(metas[i%len(metas)]), true)
	}
	f.Fuzz(func(t *testing.T, body, name string, seq uint64, ms int64, meta []byte, hidden bool) {
		m := &Message{ConversationID: name, Seq: seq, Body: body, SenderName: name, Meta: meta, Hidden: hidden}
		if ms != 0 {
			m.TS = time.UnixMilli(ms).UTC()
		}
		sameEncoding(t, m)
	})
}

// BenchmarkHistoryPageJSON encodes a page of 50 messages by hand (AppendMessages) and with encoding/json.
func BenchmarkHistoryPageJSON(b *testing.B) {
	var page []*Message
	for i := range 50 {
		page = append(page, &Message{ConversationID: "0193a2b4-8a21-7b32-9c43-5d6e7f809112", Seq: uint64(1000 + i),
			ID: "0193a2b4-9b21-7b32-9c43-5d6e7f809112", SenderType: "customer", SenderID: "0193a2b4-7a21-7b32-9c43-5d6e7f809112",
			SenderName: "Visitor 4711", Type: "text", ClientMsgID: "0193a2b4-6a21-7b32-9c43-5d6e7f809112",
			Body: "Hello, I ordered a blue jacket last week and it has not arrived yet. 你好，我上周订的蓝色外套还没到。",
			TS:   time.UnixMilli(1765000000123 + int64(i)).UTC()})
	}
	b.Run("hand", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = AppendMessages(buf[:0], page); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(page); err != nil {
				b.Fatal(err)
			}
		}
	})
}
