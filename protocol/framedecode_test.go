package protocol

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// serverFrameSeeds are frames a client reads: the server's own encodings of the common ones (which the fast
// path must decode) and shapes it must leave to encoding/json.
func serverFrameSeeds(t testing.TB) (fast, other []string) {
	ts := time.Date(2026, 12, 7, 18, 30, 1, 123456789, time.UTC)
	marshal := func(f ServerFrame) string {
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	msg := &Message{ConversationID: "0193a3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b", Seq: 42, ID: "0193a3c4-0000-7000-8000-000000000001",
		SenderType: "customer", SenderID: "cust-1", SenderName: "王小明", Type: "text", Body: "你好，我的订单还没到 😀", ClientMsgID: "c-1", TS: ts}
	frame, err := AppendMessageFrame(nil, "ep-1", msg)
	if err != nil {
		t.Fatal(err)
	}
	fast = []string{
		marshal(ServerFrame{Type: TypeAck, Ref: "r1", ClientMsgID: "c-1", ConversationID: msg.ConversationID, Seq: 42, ID: msg.ID, TS: ts, Epoch: "ep-1"}),
		marshal(ServerFrame{Type: TypeAck, ClientMsgID: "c-1", ConversationID: "x", Seq: 7, ID: "m", TS: ts.In(time.FixedZone("CST", 8*3600)), Duplicate: true}),
		string(frame),
		marshal(ServerFrame{Type: TypeMessage, Message: &Message{ConversationID: "x", Seq: 3, Hidden: true}}),
		marshal(ServerFrame{Type: TypeError, Ref: "r2", Code: "rate_limited", Error: "too many frames; slow down", ClientMsgID: "c-2", ConversationID: "x"}),
		marshal(ServerFrame{Type: TypeRead, ConversationID: "x", Side: "agent", Seq: 9}),
		marshal(ServerFrame{Type: TypeTyping, ConversationID: "x", Side: "customer", Name: "Ann"}),
		marshal(ServerFrame{Type: "queue", ConversationID: "x", Position: 3, EstimatedWaitS: 120}),
		` { "type" : "ack" , "seq" : 18446744073709551615 , "duplicate" : false } `,
		`{}`,
		`{"type":"ack","type":"error"}`,
		`{"message":{"seq":1},"message":{"id":"m"}}`,
		`{"ts":"2026-12-07T18:30:01+08:00"}`,
	}
	other = []string{
		marshal(ServerFrame{Type: TypeHeartbeat, Heads: map[string]uint64{"x": 4}}),
		marshal(ServerFrame{Type: TypeEvent, Event: &Event{Stream: "agent:a", Seq: 1, Kind: "conversation.assigned", Payload: json.RawMessage(`{"a":1}`), TS: ts}}),
		marshal(ServerFrame{Type: TypeMessage, Message: &Message{ConversationID: "x", Seq: 1, Meta: json.RawMessage(`{"k":"v"}`)}}),
		marshal(ServerFrame{Type: TypeResumed, Recovered: new(bool), NextSeq: 5}),
		marshal(ServerFrame{Type: TypeMessage, Message: &Message{ConversationID: "x", Seq: 1, Body: `a "quoted" <b> & line` + "\n"}}),
		`{"seq":18446744073709551616}`, `{"seq":01}`, `{"seq":-1}`, `{"seq":1.5}`, `{"seq":1e3}`, `{"seq":"1"}`, `{"seq":null}`,
		`{"position":-2}`, `{"position":9223372036854775808}`, `{"duplicate":1}`, `{"duplicate":truex}`, `{"duplicate":null}`,
		`{"type":null}`, `{"type":5}`, `{"Type":"ack"}`, `{"message":null}`, `{"message":{"Seq":1}}`, `{"message":[]}`,
		`{"ts":"yesterday"}`, `{"ts":null}`, `{"ts":"2026-12-07T18:30:01\u002B08:00"}`, `{"ts":"2026-12-07 18:30:01Z"}`,
		`{"type":"a\"b"}`, `{"type":"a\u0041"}`, "{\"type\":\"tab\there\"}", "{\"type\":\"\xff\"}",
		`{"type":"ack","extra":1}`, `{"type":"ack"} {}`, `{"type":"ack"}x`, `{"type":"ack",}`, `{"type":"ack"`,
		`{"type":"ack"]`, `{"type" "ack"}`, `[]`, `"ack"`, ``, `{"message":{"seq":1}`, `{"message":{"seq":1,}}`,
	}
	return fast, other
}

// checkServerFrameDecode holds the fast path to encoding/json: whatever it decodes, json.Unmarshal decodes to
// the same frame.
func checkServerFrameDecode(t *testing.T, data []byte) bool {
	t.Helper()
	var fast, std ServerFrame
	if !DecodeServerFrame(data, &fast) {
		return false
	}
	if err := json.Unmarshal(data, &std); err != nil {
		t.Fatalf("the fast path decoded %q, which json.Unmarshal refuses: %v", data, err)
	}
	if !reflect.DeepEqual(fast, std) {
		t.Fatalf("%q:\nfast path     %+v (message %+v)\njson.Unmarshal %+v (message %+v)", data, fast, fast.Message, std, std.Message)
	}
	return true
}

func TestDecodeServerFrameAgreesWithEncodingJSON(t *testing.T) {
	fast, other := serverFrameSeeds(t)
	for _, s := range fast {
		if !checkServerFrameDecode(t, []byte(s)) {
			t.Errorf("the fast path left %s to encoding/json; it should decode it", s)
		}
	}
	for _, s := range other {
		if checkServerFrameDecode(t, []byte(s)) {
			t.Errorf("the fast path decoded %s; it should leave it to encoding/json", s)
		}
	}
}

func FuzzDecodeServerFrame(f *testing.F) {
	fast, other := serverFrameSeeds(f)
	for _, s := range append(fast, other...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkServerFrameDecode(t, data) })
}

// BenchmarkDecodeServerFrame compares the fast path with json.Unmarshal on an acknowledgement and on a
// message frame.
func BenchmarkDecodeServerFrame(b *testing.B) {
	fast, _ := serverFrameSeeds(b)
	for _, c := range []struct{ name, data string }{{"ack", fast[0]}, {"message", fast[2]}} {
		data := []byte(c.data)
		b.Run(c.name+"/fast", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var f ServerFrame
				if !DecodeServerFrame(data, &f) {
					b.Fatal("not decoded")
				}
			}
		})
		b.Run(c.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var f ServerFrame
				if err := json.Unmarshal(data, &f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
