// Package hub fans published frames out to the connections subscribed to a topic (a conversation, an agent's
// stream, a team's stream) on this node, and hands them to a Bus for other nodes. It owns its state, never
// blocks on a subscriber, and knows nothing of HTTP or SQL: a subscriber's Deliver must return at once (the
// transports queue, and disconnect a client whose queue overflows).
package hub

import (
	"context"
	"sync"
)

// Delivery is one published item, serialized once for all recipients: one frame for agents and one for
// customers (nil when customers must not receive it, e.g. team events).
type Delivery struct {
	Topic    string
	Seq      uint64 // position in the topic's sequence; 0 for ephemeral items (typing, receipts, activity)
	Kind     string // the frame type: message, event, typing, read, activity
	Agent    []byte
	Customer []byte
}

// Subscriber receives deliveries. Deliver must not block.
type Subscriber interface {
	Deliver(d *Delivery)
}

// Kickable is a live connection that can be closed when its principal's rights change.
type Kickable interface {
	Kick(code int, reason string)
}

// Bus carries deliveries between nodes. Core pub/sub (Redis, NATS) is at-most-once: a lost delivery is found
// by the receivers' gap detection and heartbeats, so the bus is only ever a wake-up hint.
type Bus interface {
	// Publish sends d to the other nodes.
	Publish(ctx context.Context, d *Delivery) error
	// Close stops the bus.
	Close() error
}

// Local is the single-node bus: there are no other nodes.
type Local struct{}

// Publish does nothing: local subscribers were already served.
func (Local) Publish(context.Context, *Delivery) error { return nil }

// Close does nothing.
func (Local) Close() error { return nil }

// Hub is the node's subscription registry.
type Hub struct {
	bus Bus

	mu   sync.RWMutex
	subs map[string]map[Subscriber]struct{}

	pmu        sync.Mutex
	principals map[string]map[Kickable]struct{}
}

// New returns a hub that forwards to bus (Local{} for a single node).
func New(bus Bus) *Hub {
	if bus == nil {
		bus = Local{}
	}
	return &Hub{bus: bus, subs: map[string]map[Subscriber]struct{}{}, principals: map[string]map[Kickable]struct{}{}}
}

// Subscribe adds s to topic. Deliveries published after Subscribe returns reach s.
func (h *Hub) Subscribe(topic string, s Subscriber) {
	h.mu.Lock()
	m := h.subs[topic]
	if m == nil {
		m = map[Subscriber]struct{}{}
		h.subs[topic] = m
	}
	m[s] = struct{}{}
	h.mu.Unlock()
}

// Unsubscribe removes s from topic.
func (h *Hub) Unsubscribe(topic string, s Subscriber) {
	h.mu.Lock()
	if m := h.subs[topic]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(h.subs, topic)
		}
	}
	h.mu.Unlock()
}

// Publish delivers d to this node's subscribers of its topic, then hands it to the bus.
func (h *Hub) Publish(ctx context.Context, d *Delivery) {
	h.Local(d)
	_ = h.bus.Publish(ctx, d) // best effort: heartbeats and gap detection recover what a bus loses
}

// Local delivers d to this node's subscribers only (deliveries arriving from the bus).
func (h *Hub) Local(d *Delivery) {
	h.mu.RLock()
	m := h.subs[d.Topic]
	if len(m) == 0 {
		h.mu.RUnlock()
		return
	}
	// Copy out under the lock, deliver outside it: a subscriber may unsubscribe from within Deliver.
	targets := make([]Subscriber, 0, len(m))
	for s := range m {
		targets = append(targets, s)
	}
	h.mu.RUnlock()
	for _, s := range targets {
		s.Deliver(d)
	}
}

// Subscribers returns how many subscribers topic has on this node.
func (h *Hub) Subscribers(topic string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs[topic])
}

// Topics returns how many topics have subscribers on this node.
func (h *Hub) Topics() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs)
}

// Register records a live connection of a principal, so that Kick can find it. It returns how many
// connections the principal has on this node now.
func (h *Hub) Register(principalID string, k Kickable) int {
	h.pmu.Lock()
	defer h.pmu.Unlock()
	m := h.principals[principalID]
	if m == nil {
		m = map[Kickable]struct{}{}
		h.principals[principalID] = m
	}
	m[k] = struct{}{}
	return len(m)
}

// Unregister forgets a connection and returns how many the principal still has on this node.
func (h *Hub) Unregister(principalID string, k Kickable) int {
	h.pmu.Lock()
	defer h.pmu.Unlock()
	m := h.principals[principalID]
	delete(m, k)
	if len(m) == 0 {
		delete(h.principals, principalID)
		return 0
	}
	return len(m)
}

// Connections returns how many live connections the principal has on this node.
func (h *Hub) Connections(principalID string) int {
	h.pmu.Lock()
	defer h.pmu.Unlock()
	return len(h.principals[principalID])
}

// Kick closes every live connection of a principal on this node.
func (h *Hub) Kick(principalID string, code int, reason string) {
	h.pmu.Lock()
	var ks []Kickable
	for k := range h.principals[principalID] {
		ks = append(ks, k)
	}
	h.pmu.Unlock()
	for _, k := range ks {
		k.Kick(code, reason)
	}
}
