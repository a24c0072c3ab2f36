package messaging

import (
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/hub"
	"github.com/parley-chat/parley/protocol"
)

// WireMessage converts a stored message to its wire form for an audience. Customers see internal notes and
// erased messages as hidden entries: the seq only, so their sequence stays dense.
func WireMessage(m *chat.Message, forCustomer bool) *protocol.Message {
	if m.Deleted || (forCustomer && !m.VisibleToCustomer()) {
		return &protocol.Message{ConversationID: m.ConversationID, Seq: m.Seq, ID: m.ID, Hidden: true}
	}
	return &protocol.Message{ConversationID: m.ConversationID, Seq: m.Seq, ID: m.ID, SenderType: string(m.SenderType),
		SenderID: m.SenderID, SenderName: m.SenderName, Type: string(m.Type), Body: m.Body, ClientMsgID: m.ClientMsgID,
		Meta: m.Meta, TS: m.CreatedAt}
}

// MessageDelivery serializes a message once per audience for the hub.
func MessageDelivery(m *chat.Message, epoch string) *hub.Delivery {
	agent := messageFrame(epoch, WireMessage(m, false))
	customer := agent
	if !m.VisibleToCustomer() || m.Deleted {
		customer = messageFrame(epoch, WireMessage(m, true))
	}
	return &hub.Delivery{Topic: m.ConversationID, Seq: m.Seq, Kind: protocol.TypeMessage, Agent: agent, Customer: customer}
}

// WireEvent converts a stream event to its wire form.
func WireEvent(ev chat.Event) *protocol.Event {
	return &protocol.Event{Stream: ev.Stream, Seq: ev.Seq, Kind: ev.Kind, ConversationID: ev.ConversationID,
		Payload: ev.Payload, TS: ev.CreatedAt}
}

// EventDelivery serializes a stream event for the hub; events go to agents only.
func EventDelivery(ev chat.Event, epoch string) *hub.Delivery {
	return &hub.Delivery{Topic: ev.Stream, Seq: ev.Seq, Kind: protocol.TypeEvent,
		Agent: mustJSON(protocol.ServerFrame{Type: protocol.TypeEvent, Epoch: epoch, Event: WireEvent(ev)})}
}

// The first buffer of a frame: an acknowledgement (four UUIDs, the epoch, the time and the keys) is ~300
// bytes; a message frame ~400 besides its sender's name, its text and its meta (five UUIDs, some escaping
// of the text). A buffer that is too small costs a second allocation and a copy for every frame
// (TestFramesEncodeInOneAllocation).
const (
	frameFixedBytes   = 384
	messageFixedBytes = 512
)

// messageFrame encodes a message frame (protocol.AppendMessageFrame: the bytes json.Marshal gives, without
// its reflection); a stored message always encodes, as mustJSON assumes of every frame.
func messageFrame(epoch string, m *protocol.Message) []byte {
	b, err := protocol.AppendMessageFrame(make([]byte, 0, messageFixedBytes+len(m.SenderName)+len(m.Body)+len(m.Meta)), epoch, m)
	if err != nil {
		panic("messaging: marshal frame: " + err.Error())
	}
	return b
}

// mustJSON encodes a frame (the bytes json.Marshal gives, written by protocol.ServerFrame.AppendJSON); the
// frames the server builds always encode.
func mustJSON(f protocol.ServerFrame) []byte {
	b, err := f.AppendJSON(make([]byte, 0, frameFixedBytes))
	if err != nil {
		panic("messaging: marshal frame: " + err.Error())
	}
	return b
}
