package ratelimit

import (
	"testing"
	"time"
)

func TestKeyedBurstThenRefill(t *testing.T) {
	now := time.Unix(1000, 0)
	k := New(1, 3).WithClock(func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if ok, _ := k.Allow("a"); !ok {
			t.Fatalf("request %d within the burst was refused", i)
		}
	}
	ok, wait := k.Allow("a")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("4th request: ok=%v wait=%v, want refused with a wait up to 1s", ok, wait)
	}
	if ok, _ := k.Allow("b"); !ok {
		t.Fatal("another key must have its own bucket")
	}
	now = now.Add(time.Second)
	if ok, _ := k.Allow("a"); !ok {
		t.Fatal("a token must refill after a second")
	}
	k.Reset("a")
	for i := 0; i < 3; i++ {
		if ok, _ := k.Allow("a"); !ok {
			t.Fatal("reset must restore the full burst")
		}
	}
}

func TestKeyedForgetsIdleBuckets(t *testing.T) {
	now := time.Unix(1000, 0)
	k := New(10, 1).WithClock(func() time.Time { return now })
	for i := 0; i < 2000; i++ {
		k.Allow(string(rune('a'+i%26)) + time.Duration(i).String())
	}
	now = now.Add(2 * time.Minute)
	k.Allow("x")
	if n := len(k.buckets); n > 10 {
		t.Fatalf("%d buckets kept after they all refilled", n)
	}
}

func TestPaceBurstThenRefill(t *testing.T) {
	var p Pace
	now := time.Unix(1_000_000, 0)
	for i := 0; i < 5; i++ {
		if !p.Allow(now, 2, 5) {
			t.Fatalf("token %d of a burst of 5 refused", i+1)
		}
	}
	if p.Allow(now, 2, 5) {
		t.Fatal("a sixth token at once was allowed")
	}
	// 2 per second: one token back after half a second, not before.
	if p.Allow(now.Add(499*time.Millisecond), 2, 5) {
		t.Fatal("a token came back too early")
	}
	if !p.Allow(now.Add(500*time.Millisecond), 2, 5) {
		t.Fatal("the refilled token was refused")
	}
	if p.Allow(now.Add(500*time.Millisecond), 2, 5) {
		t.Fatal("two tokens came back after half a second")
	}
	// Idle for long: full again, but no more than the burst.
	later := now.Add(time.Hour)
	n := 0
	for p.Allow(later, 2, 5) {
		n++
	}
	if n != 5 {
		t.Fatalf("%d tokens after an hour, want the burst of 5", n)
	}
}
