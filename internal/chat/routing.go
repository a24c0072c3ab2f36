package chat

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// StatusOffered: offered to one agent, who must accept before the offer's deadline (a queued conversation
// with a reserved slot).
const StatusOffered Status = "offered"

// RoutingSettings are a site's routing and queue settings. Zero values select the defaults of the methods.
type RoutingSettings struct {
	OfferTimeoutS         int           `json:"offer_timeout_s,omitempty"`          // how long an agent has to accept an offer (default 30)
	MaxQueueLength        int           `json:"max_queue_length,omitempty"`         // past it new customers are offered "leave a message" (0 = no limit)
	MaxWaitS              int           `json:"max_wait_s,omitempty"`               // a customer waiting longer is offered "leave a message" (0 = no limit)
	ReopenWindowS         int           `json:"reopen_window_s,omitempty"`          // a customer writing within it after a close reopens (default 86400; -1 = never)
	AutoCloseAfterS       int           `json:"auto_close_after_s,omitempty"`       // close open conversations inactive this long (0 = never)
	RequeueOnAgentOffline bool          `json:"requeue_on_agent_offline,omitempty"` // a vanished agent's conversations go back to the queue
	BusinessHours         BusinessHours `json:"business_hours,omitzero"`
}

// OfferTimeout is how long an offer waits for the agent.
func (r RoutingSettings) OfferTimeout() time.Duration {
	if r.OfferTimeoutS <= 0 {
		return 30 * time.Second
	}
	return time.Duration(r.OfferTimeoutS) * time.Second
}

// ReopenWindow is how long after a close a customer's message reopens the conversation (0: never).
func (r RoutingSettings) ReopenWindow() time.Duration {
	switch {
	case r.ReopenWindowS < 0:
		return 0
	case r.ReopenWindowS == 0:
		return 24 * time.Hour
	}
	return time.Duration(r.ReopenWindowS) * time.Second
}

// Validate checks the settings' ranges.
func (r RoutingSettings) Validate() error {
	switch {
	case r.OfferTimeoutS < 0 || r.OfferTimeoutS > 3600:
		return Invalid("offer_timeout_s", "offer_timeout_s must be 0 to 3600")
	case r.MaxQueueLength < 0 || r.MaxWaitS < 0 || r.AutoCloseAfterS < 0:
		return Invalid("routing", "queue limits and auto-close must not be negative")
	case r.ReopenWindowS < -1:
		return Invalid("reopen_window_s", "reopen_window_s must be -1 (never), 0 (default) or a number of seconds")
	}
	return r.BusinessHours.Validate()
}

// BusinessHours say when agents are expected: outside them a new customer is offered "leave a message".
type BusinessHours struct {
	Enabled   bool       `json:"enabled"`
	TimeZone  string     `json:"time_zone,omitempty"` // IANA name, e.g. Asia/Shanghai (default UTC)
	Days      []OpenDays `json:"days,omitempty"`
	Holidays  []string   `json:"holidays,omitempty"` // dates (YYYY-MM-DD, in the time zone) that are closed all day
	ClosedMsg string     `json:"closed_message,omitempty"`
}

// OpenDays are the opening hours of one weekday: "09:00" to "18:00" (Close after Open; "24:00" allowed).
type OpenDays struct {
	Weekday int    `json:"weekday"` // 0 = Sunday ... 6 = Saturday
	Open    string `json:"open"`
	Close   string `json:"close"`
}

// Validate checks the hours.
func (b BusinessHours) Validate() error {
	if _, err := b.location(); err != nil {
		return Invalid("time_zone", "unknown time zone %q", b.TimeZone)
	}
	for _, d := range b.Days {
		o, err1 := minutesOf(d.Open)
		c, err2 := minutesOf(d.Close)
		if d.Weekday < 0 || d.Weekday > 6 || err1 != nil || err2 != nil || c <= o {
			return Invalid("business_hours", "each day needs a weekday 0-6 and open < close as HH:MM")
		}
	}
	for _, h := range b.Holidays {
		if _, err := time.Parse("2006-01-02", h); err != nil {
			return Invalid("holidays", "holidays are dates like 2026-10-01")
		}
	}
	return nil
}

func (b BusinessHours) location() (*time.Location, error) {
	if b.TimeZone == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(b.TimeZone)
}

func minutesOf(hhmm string) (int, error) {
	var h, m int
	if _, err := fmt.Sscanf(hhmm, "%d:%d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m > 0) {
		return 0, fmt.Errorf("bad time %q", hhmm)
	}
	return h*60 + m, nil
}

// IsOpen reports whether t falls within the business hours. Disabled hours are always open.
func (b BusinessHours) IsOpen(t time.Time) bool {
	if !b.Enabled {
		return true
	}
	loc, err := b.location()
	if err != nil {
		return true
	}
	lt := t.In(loc)
	day := lt.Format("2006-01-02")
	for _, h := range b.Holidays {
		if h == day {
			return false
		}
	}
	now := lt.Hour()*60 + lt.Minute()
	for _, d := range b.Days {
		if d.Weekday != int(lt.Weekday()) {
			continue
		}
		o, _ := minutesOf(d.Open)
		c, _ := minutesOf(d.Close)
		if now >= o && now < c {
			return true
		}
	}
	return false
}

// Candidate is an agent as the router sees it when choosing.
type Candidate struct {
	ID             string
	Capacity       int
	Used           int // assigned open conversations plus pending offers
	Weight         int
	LastAssignedAt time.Time
	AutoAccept     bool   // assigned at once rather than offered
	Name           string // for the "joined" system message
}

// Choose picks the agent for the next conversation: among candidates with a free slot, the lowest load
// ratio (used / capacity) divided by the routing weight; ties go to the one idle longest (earliest last
// assignment), then to the lowest id so the choice is deterministic. It returns -1 when nobody has room.
func Choose(cands []Candidate) int {
	best := -1
	for i, c := range cands {
		if c.Capacity <= 0 || c.Used >= c.Capacity {
			continue
		}
		if best < 0 || better(c, cands[best]) {
			best = i
		}
	}
	return best
}

// better reports whether a should be chosen before b. Ratios are compared exactly by cross-multiplying
// used_a / (cap_a * w_a) < used_b / (cap_b * w_b).
func better(a, b Candidate) bool {
	wa, wb := max(a.Weight, 1), max(b.Weight, 1)
	l := int64(a.Used) * int64(b.Capacity) * int64(wb)
	r := int64(b.Used) * int64(a.Capacity) * int64(wa)
	if l != r {
		return l < r
	}
	if !a.LastAssignedAt.Equal(b.LastAssignedAt) {
		return a.LastAssignedAt.Before(b.LastAssignedAt)
	}
	return strings.Compare(a.ID, b.ID) < 0
}

// Rank orders candidates best first (those without room last), for trying the next when a claim loses a race.
func Rank(cands []Candidate) []Candidate {
	out := append([]Candidate(nil), cands...)
	sort.SliceStable(out, func(i, j int) bool {
		fi, fj := out[i].Used < out[i].Capacity, out[j].Used < out[j].Capacity
		if fi != fj {
			return fi
		}
		return better(out[i], out[j])
	})
	return out
}
