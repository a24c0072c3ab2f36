package client

import (
	"github.com/parley-chat/parley/protocol"
)

// pollLoop is the long-poll transport: poll with the cursors, apply what comes back, repeat. The cursor is the
// acknowledgement, so a lost answer is simply asked for again.
func (c *Client) pollLoop(ready chan<- error) {
	defer close(c.done)
	defer c.failPending()
	first := true
	failures := 0
	receipts := map[string][2]uint64{}
	for c.ctx.Err() == nil {
		c.mu.Lock()
		cursors := make(map[string]uint64, len(c.cursors))
		for k, cur := range c.cursors {
			cursors[k] = cur.last
		}
		epoch := c.epoch
		c.mu.Unlock()
		if len(cursors) == 0 {
			if first {
				ready <- nil
				first = false
				c.setConnected(nil, true)
			}
			select {
			case <-c.wake:
			case <-c.ctx.Done():
				return
			}
			continue
		}
		wait := c.o.PollWait
		if c.hasFresh() {
			wait = 0
		}
		r, err := c.api.Poll(c.ctx, cursors, epoch, wait)
		if err != nil {
			if first && isAuthError(err) {
				ready <- err
				return
			}
			failures++
			c.setConnected(nil, false)
			if !c.sleep(c.backoff(failures)) {
				return
			}
			continue
		}
		if failures > 0 {
			c.mu.Lock()
			c.stats.Reconnects++
			c.mu.Unlock()
		}
		failures = 0
		if first {
			ready <- nil
			first = false
			c.setConnected(nil, true)
		}
		c.applyPoll(r, receipts)
	}
}

// hasFresh reports whether a subscription was just added (it should be served without waiting).
func (c *Client) hasFresh() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	fresh := false
	for _, cur := range c.cursors {
		if cur.resyncing {
			fresh = true
			cur.resyncing = false
		}
	}
	return fresh
}

func (c *Client) applyPoll(r *PollResult, receipts map[string][2]uint64) {
	c.mu.Lock()
	if c.epoch == "" {
		c.epoch = r.Epoch
	}
	c.mu.Unlock()
	if len(r.Reset) > 0 {
		c.mu.Lock()
		c.epoch = r.Epoch
		c.mu.Unlock()
		for _, key := range r.Reset {
			c.mu.Lock()
			if cur := c.cursors[key]; cur != nil {
				cur.last = r.Heads[key]
			}
			c.mu.Unlock()
			if c.o.OnReset != nil {
				c.o.OnReset(key, r.Heads[key])
			}
		}
		return
	}
	// The server answers each conversation's messages in seq order.
	for _, m := range r.Messages {
		c.applyMessage(m)
	}
	for _, e := range r.Events {
		c.applyEvent(e)
	}
	if c.o.OnFrame != nil {
		for _, t := range r.Typing {
			c.o.OnFrame(t)
		}
		for _, rc := range r.Receipts {
			prev := receipts[rc.ConversationID]
			if rc.CustomerSeq > prev[0] {
				c.o.OnFrame(protocol.ServerFrame{Type: protocol.TypeRead, ConversationID: rc.ConversationID, Side: "customer", Seq: rc.CustomerSeq})
			}
			if rc.AgentSeq > prev[1] {
				c.o.OnFrame(protocol.ServerFrame{Type: protocol.TypeRead, ConversationID: rc.ConversationID, Side: "agent", Seq: rc.AgentSeq})
			}
			receipts[rc.ConversationID] = [2]uint64{rc.CustomerSeq, rc.AgentSeq}
		}
	}
}

// restSend posts a message with its client message id as the Idempotency-Key, retrying temporary failures
// with backoff until it is acknowledged or refused for good.
func (c *Client) restSend(p *pendingSend) {
	f := p.frame
	for attempt := 0; c.ctx.Err() == nil; attempt++ {
		c.mu.Lock()
		live := c.pending[f.ClientMsgID] == p
		c.mu.Unlock()
		if !live {
			return
		}
		ack, err := c.api.PostMessage(c.ctx, f.ConversationID, f.ClientMsgID, f.Body, f.MsgType)
		if err == nil {
			c.finish(f.ClientMsgID, sendResult{ack: ack})
			return
		}
		if e, ok := err.(*Error); ok && !e.Temporary() {
			c.finish(f.ClientMsgID, sendResult{err: err})
			return
		}
		if attempt > 0 {
			c.mu.Lock()
			c.stats.Resends++
			c.mu.Unlock()
		}
		if !c.sleep(c.backoff(attempt)) {
			return
		}
	}
}
