package checker

import (
	"testing"

	"github.com/parley-chat/parley/protocol"
)

func msg(conv string, seq uint64, id, cid, body string) protocol.Message {
	return protocol.Message{ConversationID: conv, Seq: seq, ID: id, ClientMsgID: cid, Body: body}
}

func TestCleanHistory(t *testing.T) {
	h := New()
	a := h.Invoke("s1", "c", "k1", "hi")
	h.OK(a, 1, "m1")
	b := h.Invoke("s1", "c", "k2", "there")
	h.OK(b, 2, "m2")
	h.Subscribed("r", "c", 0)
	db := map[string][]protocol.Message{"c": {msg("c", 1, "m1", "k1", "hi"), msg("c", 2, "m2", "k2", "there")}}
	h.Applied("r", db["c"][0])
	h.Applied("r", db["c"][1])
	if r := h.Check(db); !r.Clean() || r.OKs != 2 {
		t.Fatalf("clean history reported %v", r)
	}
}

func TestDetectsEachFault(t *testing.T) {
	cases := []struct {
		name  string
		build func(h *History) map[string][]protocol.Message
		want  func(r Report) bool
	}{
		{"lost acked", func(h *History) map[string][]protocol.Message {
			h.OK(h.Invoke("s", "c", "k1", "x"), 1, "m1")
			return map[string][]protocol.Message{"c": {}}
		}, func(r Report) bool { return r.LostAcked == 1 }},
		{"acked at another seq", func(h *History) map[string][]protocol.Message {
			h.OK(h.Invoke("s", "c", "k1", "x"), 2, "m1")
			return map[string][]protocol.Message{"c": {msg("c", 1, "m1", "k1", "x")}}
		}, func(r Report) bool { return r.LostAcked == 1 }},
		{"stored twice", func(h *History) map[string][]protocol.Message {
			h.OK(h.Invoke("s", "c", "k1", "x"), 1, "m1")
			return map[string][]protocol.Message{"c": {msg("c", 1, "m1", "k1", "x"), msg("c", 2, "m2", "k1", "x")}}
		}, func(r Report) bool { return r.Duplicated >= 1 }},
		{"shown twice", func(h *History) map[string][]protocol.Message {
			db := map[string][]protocol.Message{"c": {msg("c", 1, "m1", "", "x")}}
			h.Applied("r", db["c"][0])
			h.Applied("r", db["c"][0])
			return db
		}, func(r Report) bool { return r.Duplicated == 1 }},
		{"shown out of order", func(h *History) map[string][]protocol.Message {
			db := map[string][]protocol.Message{"c": {msg("c", 1, "m1", "", "x"), msg("c", 2, "m2", "", "y")}}
			h.Applied("r", db["c"][1])
			h.Applied("r", db["c"][0])
			return db
		}, func(r Report) bool { return r.Reordered == 1 }},
		{"receiver gap", func(h *History) map[string][]protocol.Message {
			db := map[string][]protocol.Message{"c": {msg("c", 1, "m1", "", "x"), msg("c", 2, "m2", "", "y")}}
			h.Subscribed("r", "c", 0)
			h.Applied("r", db["c"][1])
			return db
		}, func(r Report) bool { return r.Gaps == 1 }},
		{"database gap", func(h *History) map[string][]protocol.Message {
			return map[string][]protocol.Message{"c": {msg("c", 1, "m1", "", "x"), msg("c", 3, "m3", "", "y")}}
		}, func(r Report) bool { return r.Gaps == 1 }},
		{"session order", func(h *History) map[string][]protocol.Message {
			h.OK(h.Invoke("s", "c", "k1", "x"), 2, "m2")
			h.OK(h.Invoke("s", "c", "k2", "y"), 1, "m1")
			return map[string][]protocol.Message{"c": {msg("c", 1, "m1", "k2", "y"), msg("c", 2, "m2", "k1", "x")}}
		}, func(r Report) bool { return r.Reordered == 1 }},
		{"info stored twice", func(h *History) map[string][]protocol.Message {
			h.Info(h.Invoke("s", "c", "k1", "x"))
			return map[string][]protocol.Message{"c": {msg("c", 1, "m1", "k1", "x"), msg("c", 2, "m2", "k1", "x")}}
		}, func(r Report) bool { return r.Duplicated >= 1 }},
	}
	for _, c := range cases {
		h := New()
		r := h.Check(c.build(h))
		if !c.want(r) || r.Clean() {
			t.Errorf("%s: report %v", c.name, r)
		}
	}
}
