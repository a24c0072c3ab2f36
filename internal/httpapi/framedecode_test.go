package httpapi

import (
	"testing"

	"github.com/parley-chat/parley/protocol"
)

// frameSeeds are client frames of every kind: the common ones the fast path decodes, and the ones it must
// leave to unmarshalStrict.
var frameSeeds = []string{
	`{"type":"send","id":"r1","conversation_id":"0193a3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b","client_msg_id":"c-1","body":"hello","msg_type":"text"}`,
	` { "type" : "read" , "conversation_id" : "x" , "seq" : 42 } `,
	"{\"type\":\"send\",\"body\":\"caf\u00e9 \u2028 <&> \U0001F600\"}",
	`{"type":"ping"}`,
	`{}`,
	`{"seq":18446744073709551615}`,
	`{"seq":18446744073709551616}`,
	`{"seq":0}`,
	`{"seq":01}`,
	`{"seq":-1}`,
	`{"seq":1.5}`,
	`{"seq":1e3}`,
	`{"seq":"1"}`,
	`{"seq":null}`,
	`{"type":null}`,
	`{"type":5}`,
	`{"Type":"send"}`,
	`{"type":"send","type":"ping"}`,
	`{"body":"a\"b"}`,
	`{"body":"a\u0041"}`,
	`{"body":"\ud800"}`,
	"{\"body\":\"tab\there\"}",
	`{"type":"subscribe","subscriptions":[{"conversation_id":"x","last_seq":3}]}`,
	`{"type":"send","extra":1}`,
	`{"type":"send"} {}`,
	`{"type":"send"}x`,
	`{"type":"send",}`,
	`{"type":"send"`,
	`{"type":"send"]`,
	`{"type" "send"}`,
	`[]`,
	`"send"`,
	``,
	"{\"body\":\"\xff\"}",
}

// TestDecodeClientFrameAgreesWithStrict checks the fast path against encoding/json on every seed: where it
// decodes a frame it decodes it as unmarshalStrict does, and the frames it must refuse it refuses.
func TestDecodeClientFrameAgreesWithStrict(t *testing.T) {
	fast := map[string]bool{
		frameSeeds[0]: true, frameSeeds[1]: true, frameSeeds[2]: true, frameSeeds[3]: true, frameSeeds[4]: true,
		frameSeeds[5]: true, frameSeeds[7]: true, `{"type":"send","type":"ping"}`: true,
	}
	for _, s := range frameSeeds {
		checkFrameDecode(t, []byte(s))
		var f protocol.ClientFrame
		if got := protocol.DecodeClientFrame([]byte(s), &f); got != fast[s] {
			t.Errorf("protocol.DecodeClientFrame(%s) = %v, want %v", s, got, fast[s])
		}
	}
}

func checkFrameDecode(t *testing.T, data []byte) {
	t.Helper()
	var fast, strict protocol.ClientFrame
	if !protocol.DecodeClientFrame(data, &fast) {
		return
	}
	if err := unmarshalStrict(data, &strict); err != nil {
		t.Fatalf("fast path decoded %q, which unmarshalStrict refuses: %v", data, err)
	}
	if fast.Type != strict.Type || fast.ID != strict.ID || fast.Token != strict.Token ||
		fast.ConversationID != strict.ConversationID || fast.ClientMsgID != strict.ClientMsgID ||
		fast.Body != strict.Body || fast.MsgType != strict.MsgType || fast.Seq != strict.Seq ||
		len(strict.Subscriptions) != 0 {
		t.Fatalf("%q: fast path %+v, unmarshalStrict %+v", data, fast, strict)
	}
}

func FuzzDecodeClientFrame(f *testing.F) {
	for _, s := range frameSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkFrameDecode)
}

func BenchmarkDecodeClientFrame(b *testing.B) {
	data := []byte(frameSeeds[0])
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var f protocol.ClientFrame
			protocol.DecodeClientFrame(data, &f)
		}
	})
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var f protocol.ClientFrame
			_ = unmarshalStrict(data, &f)
		}
	})
}
