package messaging

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/protocol"
)

// An acknowledgement and a message frame are encoded into one buffer, allocated once: the first buffer's
// size covers them (frameFixedBytes, messageFixedBytes), where 256 bytes took a second allocation and a copy
// for each.
func TestFramesEncodeInOneAllocation(t *testing.T) {
	const uuid = "0193a5f0-7c1e-7d2a-9b3c-4d5e6f708192"
	now := time.Date(2026, 12, 8, 0, 40, 12, 345678901, time.UTC)
	ack := protocol.ServerFrame{Type: protocol.TypeAck, Ref: uuid, ClientMsgID: uuid, ConversationID: uuid, Seq: 1234567,
		ID: uuid, TS: now, Epoch: "01JEXAMPLEEPOCH0123456789"}
	msg := &protocol.Message{ConversationID: uuid, Seq: 1234567, ID: uuid, SenderType: "customer", SenderID: uuid,
		SenderName: "访客 4821", Type: "text", Body: strings.Repeat("您好，我的订单还没有到。", 8), ClientMsgID: uuid, TS: now}
	for name, encode := range map[string]func() []byte{
		"ack":     func() []byte { return mustJSON(ack) },
		"message": func() []byte { return messageFrame("01JEXAMPLEEPOCH0123456789", msg) },
	} {
		b := encode()
		if !strings.HasPrefix(string(b), "{") || !strings.HasSuffix(string(b), "}") {
			t.Fatalf("%s: %s", name, b)
		}
		if n := testing.AllocsPerRun(50, func() { encode() }); n != 1 {
			t.Errorf("%s frame (%d bytes): %v allocations, want 1", name, len(b), n)
		}
	}
}
