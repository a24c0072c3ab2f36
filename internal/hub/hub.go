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
	subs map[string]*set[Subscriber]

	pmu        sync.Mutex
	principals map[string]*set[Kickable]
}

// set is a set of subscribers or connections that holds its first member inline: most topics and principals
// have one live connection on a node (a customer's conversation, an agent's stream), and a map for each would
// be most of what an idle connection costs the hub.
type set[T comparable] struct {
	one  T
	has  bool
	more map[T]struct{}
}

func (s *set[T]) add(v T) {
	switch {
	case s.has && s.one == v:
	case !s.has && s.more == nil:
		s.one, s.has = v, true
	default:
		if s.more == nil {
			s.more = map[T]struct{}{}
		}
		s.more[v] = struct{}{}
	}
}

func (s *set[T]) remove(v T) {
	if s.has && s.one == v {
		var zero T
		s.one, s.has = zero, false
		return
	}
	delete(s.more, v)
}

func (s *set[T]) len() int {
	n := len(s.more)
	if s.has {
		n++
	}
	return n
}

// appendTo appends the members to out.
func (s *set[T]) appendTo(out []T) []T {
	if s.has {
		out = append(out, s.one)
	}
	for v := range s.more {
		out = append(out, v)
	}
	return out
}

// New returns a hub that forwards to bus (Local{} for a single node).
func New(bus Bus) *Hub {
	if bus == nil {
		bus = Local{}
	}
	return &Hub{bus: bus, subs: map[string]*set[Subscriber]{}, principals: map[string]*set[Kickable]{}}
}

// Subscribe adds s to topic. Deliveries published after Subscribe returns reach s.
func (h *Hub) Subscribe(topic string, s Subscriber) {
	h.mu.Lock()
	m := h.subs[topic]
	if m == nil {
		m = &set[Subscriber]{}
		h.subs[topic] = m
	}
	m.add(s)
	h.mu.Unlock()
}

// Unsubscribe removes s from topic.
func (h *Hub) Unsubscribe(topic string, s Subscriber) {
	h.mu.Lock()
	if m := h.subs[topic]; m != nil {
		m.remove(s)
		if m.len() == 0 {
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
	if m == nil {
		h.mu.RUnlock()
		return
	}
	// Copy out under the lock, deliver outside it: a subscriber may unsubscribe from within Deliver.
	targets := m.appendTo(make([]Subscriber, 0, m.len()))
	h.mu.RUnlock()
	for _, s := range targets {
		s.Deliver(d)
	}
}

// Wanted reports whether a delivery to topic would reach anyone: a subscriber on this node, or other nodes
// through a bus. A publisher of an item nobody may want (a team's inbox activity, per message) checks first
// and spares itself the serialization.
func (h *Hub) Wanted(topic string) bool {
	if _, local := h.bus.(Local); !local {
		return true
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.subs[topic] != nil
}

// Subscribers returns how many subscribers topic has on this node.
func (h *Hub) Subscribers(topic string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if m := h.subs[topic]; m != nil {
		return m.len()
	}
	return 0
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
		m = &set[Kickable]{}
		h.principals[principalID] = m
	}
	m.add(k)
	return m.len()
}

// Unregister forgets a connection and returns how many the principal still has on this node.
func (h *Hub) Unregister(principalID string, k Kickable) int {
	h.pmu.Lock()
	defer h.pmu.Unlock()
	m := h.principals[principalID]
	if m == nil {
		return 0
	}
	m.remove(k)
	if m.len() == 0 {
		delete(h.principals, principalID)
		return 0
	}
	return m.len()
}

// Connections returns how many live connections the principal has on this node.
func (h *Hub) Connections(principalID string) int {
	h.pmu.Lock()
	defer h.pmu.Unlock()
	if m := h.principals[principalID]; m != nil {
		return m.len()
	}
	return 0
}

// Kick closes every live connection of a principal on this node.
func (h *Hub) Kick(principalID string, code int, reason string) {
	h.pmu.Lock()
	var ks []Kickable
	if m := h.principals[principalID]; m != nil {
		ks = m.appendTo(nil)
	}
	h.pmu.Unlock()
	for _, k := range ks {
		k.Kick(code, reason)
	}
}
