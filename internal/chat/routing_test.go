package chat

import (
	"math"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // embedded zone database so the tests do not depend on the host's zoneinfo
)

// routingBase is a fixed reference instant for LastAssignedAt values; tests never use time.Now.
var routingBase = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// ago returns an instant d before routingBase (a larger d means idle longer).
func ago(d time.Duration) time.Time { return routingBase.Add(-d) }

func TestChooseReturnsMinusOneWhenNobodyHasRoom(t *testing.T) {
	tests := []struct {
		name  string
		cands []Candidate
	}{
		{"nil list", nil},
		{"empty list", []Candidate{}},
		{"single full agent", []Candidate{{ID: "a", Capacity: 3, Used: 3, Weight: 100}}},
		{"all full", []Candidate{
			{ID: "a", Capacity: 1, Used: 1, Weight: 100},
			{ID: "b", Capacity: 5, Used: 5, Weight: 300},
			{ID: "c", Capacity: 2, Used: 2},
		}},
		{"over capacity counts as full", []Candidate{{ID: "a", Capacity: 2, Used: 7, Weight: 100}}},
		{"capacity zero", []Candidate{{ID: "a", Capacity: 0, Used: 0, Weight: 100}}},
		{"negative capacity", []Candidate{{ID: "a", Capacity: -1, Used: -5, Weight: 100}}},
		{"capacity zero even with a negative (corrupt) used count", []Candidate{{ID: "a", Capacity: 0, Used: -1, Weight: 100}}},
		{"capacity zero and full mixed", []Candidate{
			{ID: "a", Capacity: 0, Used: 0, Weight: 500},
			{ID: "b", Capacity: 4, Used: 4, Weight: 100},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Choose(tc.cands); got != -1 {
				t.Fatalf("Choose(%+v) = %d, want -1", tc.cands, got)
			}
		})
	}
}

func TestChoosePicksTheRightCandidate(t *testing.T) {
	tests := []struct {
		name   string
		cands  []Candidate
		wantID string
	}{
		{
			name:   "single agent with room",
			cands:  []Candidate{{ID: "a", Capacity: 3, Used: 1, Weight: 100}},
			wantID: "a",
		},
		{
			name: "lowest load ratio wins",
			cands: []Candidate{
				{ID: "a", Capacity: 4, Used: 3, Weight: 100},
				{ID: "b", Capacity: 4, Used: 1, Weight: 100},
				{ID: "c", Capacity: 4, Used: 2, Weight: 100},
			},
			wantID: "b",
		},
		{
			name: "ratio not absolute count: 2/10 beats 1/2",
			cands: []Candidate{
				{ID: "a", Capacity: 2, Used: 1, Weight: 100},
				{ID: "b", Capacity: 10, Used: 2, Weight: 100},
			},
			wantID: "b",
		},
		{
			name: "capacity zero and full agents are skipped however heavy their weight",
			cands: []Candidate{
				{ID: "a", Capacity: 0, Used: 0, Weight: 1000, LastAssignedAt: ago(10 * time.Hour)},
				{ID: "b", Capacity: 1, Used: 1, Weight: 1000, LastAssignedAt: ago(10 * time.Hour)},
				{ID: "c", Capacity: 5, Used: 4, Weight: 100},
			},
			wantID: "c",
		},
		{
			name: "exact ratio tie (1/2 vs 2/4) goes to the longest idle",
			cands: []Candidate{
				{ID: "a", Capacity: 2, Used: 1, Weight: 100, LastAssignedAt: ago(1 * time.Minute)},
				{ID: "b", Capacity: 4, Used: 2, Weight: 100, LastAssignedAt: ago(5 * time.Minute)},
				{ID: "c", Capacity: 6, Used: 3, Weight: 100, LastAssignedAt: ago(2 * time.Minute)},
			},
			wantID: "b",
		},
		{
			name: "never assigned (zero time) counts as idle longest",
			cands: []Candidate{
				{ID: "a", Capacity: 3, Used: 0, Weight: 100, LastAssignedAt: ago(48 * time.Hour)},
				{ID: "b", Capacity: 3, Used: 0, Weight: 100},
			},
			wantID: "b",
		},
		{
			name: "ratio beats idle time",
			cands: []Candidate{
				{ID: "a", Capacity: 4, Used: 2, Weight: 100, LastAssignedAt: ago(24 * time.Hour)},
				{ID: "b", Capacity: 4, Used: 1, Weight: 100, LastAssignedAt: ago(time.Second)},
			},
			wantID: "b",
		},
		{
			name: "ratio and idle tie goes to the lowest id",
			cands: []Candidate{
				{ID: "carol", Capacity: 4, Used: 2, Weight: 100, LastAssignedAt: ago(time.Hour)},
				{ID: "alice", Capacity: 2, Used: 1, Weight: 100, LastAssignedAt: ago(time.Hour)},
				{ID: "bob", Capacity: 4, Used: 2, Weight: 100, LastAssignedAt: ago(time.Hour)},
			},
			wantID: "alice",
		},
		{
			name: "same instant in different locations is a tie, broken by id",
			cands: []Candidate{
				{ID: "b", Capacity: 4, Used: 1, Weight: 100, LastAssignedAt: ago(time.Hour)},
				{ID: "a", Capacity: 4, Used: 1, Weight: 100, LastAssignedAt: ago(time.Hour).In(time.FixedZone("UTC+8", 8*3600))},
			},
			wantID: "a",
		},
		{
			name: "double weight at the same load is preferred",
			cands: []Candidate{
				{ID: "a", Capacity: 4, Used: 2, Weight: 100},
				{ID: "b", Capacity: 4, Used: 2, Weight: 200},
			},
			wantID: "b",
		},
		{
			name: "weight 200 at 2/4 equals weight 100 at 1/4: tie goes to the longest idle",
			cands: []Candidate{
				{ID: "a", Capacity: 4, Used: 1, Weight: 100, LastAssignedAt: ago(time.Minute)},
				{ID: "b", Capacity: 4, Used: 2, Weight: 200, LastAssignedAt: ago(time.Hour)},
			},
			wantID: "b",
		},
		{
			name: "weight 200 at 2/4 equals weight 100 at 1/4: the other way round by idle",
			cands: []Candidate{
				{ID: "a", Capacity: 4, Used: 1, Weight: 100, LastAssignedAt: ago(time.Hour)},
				{ID: "b", Capacity: 4, Used: 2, Weight: 200, LastAssignedAt: ago(time.Minute)},
			},
			wantID: "a",
		},
		{
			name: "weight 200 at 1/4 beats weight 100 at 1/4",
			cands: []Candidate{
				{ID: "a", Capacity: 4, Used: 1, Weight: 100, LastAssignedAt: ago(time.Hour)},
				{ID: "b", Capacity: 4, Used: 1, Weight: 200, LastAssignedAt: ago(time.Minute)},
			},
			wantID: "b",
		},
		{
			name: "weight 200 at 3/4 loses to weight 100 at 1/4",
			cands: []Candidate{
				{ID: "a", Capacity: 4, Used: 1, Weight: 100, LastAssignedAt: ago(time.Minute)},
				{ID: "b", Capacity: 4, Used: 3, Weight: 200, LastAssignedAt: ago(time.Hour)},
			},
			wantID: "a",
		},
		{
			name: "weight zero counts as 1, so weight 2 is preferred at equal load",
			cands: []Candidate{
				{ID: "a", Capacity: 4, Used: 2, Weight: 0},
				{ID: "b", Capacity: 4, Used: 2, Weight: 2},
			},
			wantID: "b",
		},
		{
			name: "weight zero and weight 1 are equal, tie by idle",
			cands: []Candidate{
				{ID: "a", Capacity: 4, Used: 2, Weight: 1, LastAssignedAt: ago(time.Minute)},
				{ID: "b", Capacity: 4, Used: 2, Weight: 0, LastAssignedAt: ago(time.Hour)},
			},
			wantID: "b",
		},
		{
			name: "negative weight counts as 1 (not as a bonus)",
			cands: []Candidate{
				{ID: "a", Capacity: 4, Used: 1, Weight: -100, LastAssignedAt: ago(time.Hour)},
				{ID: "b", Capacity: 4, Used: 1, Weight: 2, LastAssignedAt: ago(time.Minute)},
			},
			wantID: "b",
		},
		{
			name: "used == capacity-1 is still chosen",
			cands: []Candidate{
				{ID: "a", Capacity: 3, Used: 3, Weight: 100},
				{ID: "b", Capacity: 3, Used: 2, Weight: 100},
			},
			wantID: "b",
		},
		{
			name: "used == capacity is never chosen even with a huge weight",
			cands: []Candidate{
				{ID: "a", Capacity: 3, Used: 3, Weight: 1_000_000, LastAssignedAt: ago(100 * time.Hour)},
				{ID: "b", Capacity: 3, Used: 2, Weight: 1},
			},
			wantID: "b",
		},
		{
			name: "capacity 1 with nothing used is chosen",
			cands: []Candidate{
				{ID: "a", Capacity: 1, Used: 1, Weight: 100},
				{ID: "b", Capacity: 1, Used: 0, Weight: 100},
			},
			wantID: "b",
		},
		{
			name: "large capacities and weights compare exactly without overflow",
			cands: []Candidate{
				// 999_999/(1_000_000*10_000) vs 999_998/(1_000_000*10_000): a one-unit difference
				// must still be seen (float division would be fine here, but products are ~1e16).
				{ID: "a", Capacity: 1_000_000, Used: 999_999, Weight: 10_000},
				{ID: "b", Capacity: 1_000_000, Used: 999_998, Weight: 10_000},
			},
			wantID: "b",
		},
		{
			name: "large numbers: ratios that differ only past float64 precision",
			cands: []Candidate{
				// a: 1_000_000_000 / 1_000_000_001 ; b: 999_999_999 / 1_000_000_000.
				// a - b = 1/(1e9*(1e9+1)) > 0, so b has the lower ratio.
				{ID: "a", Capacity: 1_000_000_001, Used: 1_000_000_000, Weight: 1},
				{ID: "b", Capacity: 1_000_000_000, Used: 999_999_999, Weight: 1},
			},
			wantID: "b",
		},
		{
			name: "validated maxima: MaxCapacity and MaxWeight, one unit of load apart",
			cands: []Candidate{
				{ID: "a", Capacity: MaxCapacity, Used: MaxCapacity - 1, Weight: MaxWeight},
				{ID: "b", Capacity: MaxCapacity, Used: MaxCapacity - 2, Weight: MaxWeight},
			},
			wantID: "b",
		},
		{
			name: "validated maxima: MaxWeight at 999/1000 beats weight 1 at 1/1000",
			cands: []Candidate{
				// 999/(1000*1000) < 1/(1000*1)
				{ID: "a", Capacity: MaxCapacity, Used: 1, Weight: 1},
				{ID: "b", Capacity: MaxCapacity, Used: MaxCapacity - 1, Weight: MaxWeight},
			},
			wantID: "b",
		},
		{
			name: "large numbers: max int32 capacity with weight 1",
			cands: []Candidate{
				{ID: "a", Capacity: math.MaxInt32, Used: math.MaxInt32 - 1, Weight: 1},
				{ID: "b", Capacity: math.MaxInt32, Used: math.MaxInt32 - 2, Weight: 1},
			},
			wantID: "b",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Choose(tc.cands)
			if got < 0 || got >= len(tc.cands) {
				t.Fatalf("Choose = %d, want index of %q", got, tc.wantID)
			}
			if tc.cands[got].ID != tc.wantID {
				t.Fatalf("Choose picked %q (index %d), want %q", tc.cands[got].ID, got, tc.wantID)
			}
		})
	}
}

func TestChooseIsIndependentOfInputOrder(t *testing.T) {
	cands := []Candidate{
		{ID: "a", Capacity: 4, Used: 2, Weight: 100, LastAssignedAt: ago(time.Hour)},
		{ID: "b", Capacity: 2, Used: 1, Weight: 100, LastAssignedAt: ago(time.Hour)},
		{ID: "c", Capacity: 8, Used: 4, Weight: 100, LastAssignedAt: ago(2 * time.Hour)},
		{ID: "d", Capacity: 4, Used: 4, Weight: 100},
		{ID: "e", Capacity: 0, Used: 0, Weight: 100},
	}
	// Every rotation of the list must yield the same agent: c (tied ratio, idle longest).
	for r := range cands {
		rot := append(slices.Clone(cands[r:]), cands[:r]...)
		got := Choose(rot)
		if got < 0 || rot[got].ID != "c" {
			t.Fatalf("rotation %d: Choose = %d, want the index of c", r, got)
		}
	}
}

func candidateIDs(cs []Candidate) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

func TestRankOrdersBestFirstAndFullLast(t *testing.T) {
	tests := []struct {
		name  string
		cands []Candidate
		want  []string
	}{
		{"nil", nil, []string{}},
		{
			name: "by ratio, then idle, then id; full ones last",
			cands: []Candidate{
				{ID: "full", Capacity: 2, Used: 2, Weight: 100},
				{ID: "half-recent", Capacity: 4, Used: 2, Weight: 100, LastAssignedAt: ago(time.Minute)},
				{ID: "quarter", Capacity: 4, Used: 1, Weight: 100, LastAssignedAt: ago(time.Second)},
				{ID: "half-idle", Capacity: 2, Used: 1, Weight: 100, LastAssignedAt: ago(time.Hour)},
				{ID: "empty", Capacity: 3, Used: 0, Weight: 100},
				{ID: "half-b", Capacity: 6, Used: 3, Weight: 100, LastAssignedAt: ago(time.Minute)},
			},
			want: []string{"empty", "quarter", "half-idle", "half-b", "half-recent", "full"},
		},
		{
			name: "a full agent is last even with the best ratio-by-weight",
			cands: []Candidate{
				{ID: "full-heavy", Capacity: 1, Used: 1, Weight: 1_000_000, LastAssignedAt: ago(99 * time.Hour)},
				{ID: "busy", Capacity: 10, Used: 9, Weight: 1},
			},
			want: []string{"busy", "full-heavy"},
		},
		{
			name: "capacity zero is without room",
			cands: []Candidate{
				{ID: "zero", Capacity: 0, Used: 0, Weight: 100},
				{ID: "ok", Capacity: 5, Used: 4, Weight: 100},
			},
			want: []string{"ok", "zero"},
		},
		{
			name: "weight doubles preference",
			cands: []Candidate{
				{ID: "w100", Capacity: 4, Used: 2, Weight: 100},
				{ID: "w200", Capacity: 4, Used: 2, Weight: 200},
				{ID: "w400", Capacity: 4, Used: 3, Weight: 400},
			},
			// effective loads: w100 2/400, w200 2/800, w400 3/1600
			want: []string{"w400", "w200", "w100"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Rank(tc.cands)
			if len(got) != len(tc.cands) {
				t.Fatalf("Rank returned %d candidates, want %d", len(got), len(tc.cands))
			}
			if ids := candidateIDs(got); !slices.Equal(ids, tc.want) {
				t.Fatalf("Rank order = %v, want %v", ids, tc.want)
			}
		})
	}
}

func TestRankFirstAgreesWithChoose(t *testing.T) {
	cands := []Candidate{
		{ID: "a", Capacity: 4, Used: 3, Weight: 100, LastAssignedAt: ago(time.Hour)},
		{ID: "b", Capacity: 4, Used: 2, Weight: 200, LastAssignedAt: ago(2 * time.Hour)},
		{ID: "c", Capacity: 4, Used: 1, Weight: 100, LastAssignedAt: ago(3 * time.Hour)},
		{ID: "d", Capacity: 4, Used: 4, Weight: 100},
	}
	ranked := Rank(cands)
	i := Choose(cands)
	if i < 0 {
		t.Fatalf("Choose = -1, want a candidate")
	}
	if ranked[0].ID != cands[i].ID {
		t.Fatalf("Rank first = %q, Choose = %q; they must agree", ranked[0].ID, cands[i].ID)
	}
	// b and c tie on effective load (2/800 == 1/400); c idled longer.
	if ranked[0].ID != "c" {
		t.Fatalf("best = %q, want c", ranked[0].ID)
	}
}

func TestRankDoesNotModifyInput(t *testing.T) {
	cands := []Candidate{
		{ID: "z", Capacity: 2, Used: 2, Weight: 100},
		{ID: "y", Capacity: 4, Used: 3, Weight: 100},
		{ID: "x", Capacity: 4, Used: 0, Weight: 100},
	}
	orig := slices.Clone(cands)
	got := Rank(cands)
	if !slices.Equal(cands, orig) {
		t.Fatalf("Rank modified its input: %+v, was %+v", cands, orig)
	}
	if ids := candidateIDs(got); !slices.Equal(ids, []string{"x", "y", "z"}) {
		t.Fatalf("Rank order = %v, want [x y z]", ids)
	}
	// The result must not alias the input's backing array.
	got[0].ID = "changed"
	if cands[0].ID != "z" || cands[2].ID != "x" {
		t.Fatalf("Rank result aliases its input: %+v", cands)
	}
}

func mustLoadLocation(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

// shanghaiWeekdayHours is open Monday to Friday 09:00-18:00 in Asia/Shanghai, Saturday until midnight,
// closed on Sunday and on 2026-10-01.
func shanghaiWeekdayHours() BusinessHours {
	days := []OpenDays{}
	for wd := 1; wd <= 5; wd++ {
		days = append(days, OpenDays{Weekday: wd, Open: "09:00", Close: "18:00"})
	}
	days = append(days, OpenDays{Weekday: 6, Open: "10:00", Close: "24:00"})
	return BusinessHours{
		Enabled:  true,
		TimeZone: "Asia/Shanghai",
		Days:     days,
		Holidays: []string{"2026-10-01"},
	}
}

func TestBusinessHoursIsOpen(t *testing.T) {
	sh := mustLoadLocation(t, "Asia/Shanghai")
	hours := shanghaiWeekdayHours()
	if err := hours.Validate(); err != nil {
		t.Fatalf("fixture hours invalid: %v", err)
	}
	tests := []struct {
		name    string
		hours   BusinessHours
		at      time.Time
		weekday time.Weekday // sanity check of the fixture date, in its own location
		want    bool
	}{
		{"disabled is open on a Sunday night", BusinessHours{Enabled: false, TimeZone: "Asia/Shanghai"},
			time.Date(2026, 10, 4, 3, 0, 0, 0, sh), time.Sunday, true},
		{"disabled is open even with no days and a holiday", BusinessHours{Holidays: []string{"2026-10-01"}},
			time.Date(2026, 10, 1, 12, 0, 0, 0, sh), time.Thursday, true},
		{"disabled ignores a bad time zone", BusinessHours{TimeZone: "Nowhere/Never"},
			time.Date(2026, 9, 28, 3, 0, 0, 0, sh), time.Monday, true},
		{"enabled with no days is closed", BusinessHours{Enabled: true, TimeZone: "Asia/Shanghai"},
			time.Date(2026, 9, 28, 12, 0, 0, 0, sh), time.Monday, false},
		{"Monday 09:00 local is open", hours, time.Date(2026, 9, 28, 9, 0, 0, 0, sh), time.Monday, true},
		{"Monday 08:59 local is closed", hours, time.Date(2026, 9, 28, 8, 59, 0, 0, sh), time.Monday, false},
		{"Monday 08:59:59 local is closed", hours, time.Date(2026, 9, 28, 8, 59, 59, 0, sh), time.Monday, false},
		{"Monday 12:30 local is open", hours, time.Date(2026, 9, 28, 12, 30, 0, 0, sh), time.Monday, true},
		{"Monday 17:59:59 local is open", hours, time.Date(2026, 9, 28, 17, 59, 59, 0, sh), time.Monday, true},
		{"Monday 18:00 exactly is closed", hours, time.Date(2026, 9, 28, 18, 0, 0, 0, sh), time.Monday, false},
		{"Sunday noon is closed (no window)", hours, time.Date(2026, 10, 4, 12, 0, 0, 0, sh), time.Sunday, false},
		{"Saturday 23:59 is open with 24:00 close", hours, time.Date(2026, 10, 3, 23, 59, 0, 0, sh), time.Saturday, true},
		{"Saturday 09:59 is closed before a 10:00 open", hours, time.Date(2026, 10, 3, 9, 59, 0, 0, sh), time.Saturday, false},
		{"holiday closes a weekday at noon", hours, time.Date(2026, 10, 1, 12, 0, 0, 0, sh), time.Thursday, false},
		{"holiday closes at 09:00", hours, time.Date(2026, 10, 1, 9, 0, 0, 0, sh), time.Thursday, false},
		{"day after the holiday is open again", hours, time.Date(2026, 10, 2, 9, 0, 0, 0, sh), time.Friday, true},
		// The same rules evaluated from UTC instants: the hours are in Shanghai time (UTC+8).
		{"01:00 UTC Monday is 09:00 Shanghai: open", hours, time.Date(2026, 9, 28, 1, 0, 0, 0, time.UTC), time.Monday, true},
		{"00:59 UTC Monday is 08:59 Shanghai: closed", hours, time.Date(2026, 9, 28, 0, 59, 0, 0, time.UTC), time.Monday, false},
		{"10:00 UTC Monday is 18:00 Shanghai: closed", hours, time.Date(2026, 9, 28, 10, 0, 0, 0, time.UTC), time.Monday, false},
		{"16:00 UTC Sunday is Monday 00:00 Shanghai: closed", hours, time.Date(2026, 9, 27, 16, 0, 0, 0, time.UTC), time.Sunday, false},
		{"Wednesday 01:30 UTC is Wed 09:30 Shanghai: open", hours, time.Date(2026, 9, 30, 1, 30, 0, 0, time.UTC), time.Wednesday, true},
		{"02:00 UTC on the holiday is 10:00 Shanghai: closed", hours, time.Date(2026, 10, 1, 2, 0, 0, 0, time.UTC), time.Thursday, false},
		{"holiday in UTC but not in Shanghai is open", BusinessHours{
			Enabled: true, TimeZone: "Asia/Shanghai",
			Days:     []OpenDays{{Weekday: 4, Open: "00:00", Close: "24:00"}},
			Holidays: []string{"2026-09-30"},
		}, time.Date(2026, 9, 30, 20, 0, 0, 0, time.UTC), time.Wednesday, true},
		{"empty time zone means UTC", BusinessHours{
			Enabled: true,
			Days:    []OpenDays{{Weekday: 1, Open: "09:00", Close: "18:00"}},
		}, time.Date(2026, 9, 28, 9, 0, 0, 0, sh), time.Monday, false},
		{"empty time zone means UTC: 09:00 UTC open", BusinessHours{
			Enabled: true,
			Days:    []OpenDays{{Weekday: 1, Open: "09:00", Close: "18:00"}},
		}, time.Date(2026, 9, 28, 9, 0, 0, 0, time.UTC), time.Monday, true},
		{"two windows on one day: lunch break closed", BusinessHours{
			Enabled: true, TimeZone: "Asia/Shanghai",
			Days: []OpenDays{{Weekday: 1, Open: "09:00", Close: "12:00"}, {Weekday: 1, Open: "13:00", Close: "18:00"}},
		}, time.Date(2026, 9, 28, 12, 30, 0, 0, sh), time.Monday, false},
		{"two windows on one day: afternoon open", BusinessHours{
			Enabled: true, TimeZone: "Asia/Shanghai",
			Days: []OpenDays{{Weekday: 1, Open: "09:00", Close: "12:00"}, {Weekday: 1, Open: "13:00", Close: "18:00"}},
		}, time.Date(2026, 9, 28, 13, 0, 0, 0, sh), time.Monday, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if wd := tc.at.Weekday(); wd != tc.weekday {
				t.Fatalf("fixture error: %v is a %v, not a %v", tc.at, wd, tc.weekday)
			}
			if got := tc.hours.IsOpen(tc.at); got != tc.want {
				t.Fatalf("IsOpen(%v) = %v, want %v", tc.at, got, tc.want)
			}
		})
	}
}

func TestBusinessHoursValidate(t *testing.T) {
	day := func(wd int, open, close string) []OpenDays {
		return []OpenDays{{Weekday: wd, Open: open, Close: close}}
	}
	tests := []struct {
		name      string
		hours     BusinessHours
		wantField string // "" means valid
	}{
		{"zero value is valid", BusinessHours{}, ""},
		{"shanghai fixture is valid", shanghaiWeekdayHours(), ""},
		{"UTC explicit", BusinessHours{Enabled: true, TimeZone: "UTC", Days: day(0, "00:00", "24:00")}, ""},
		{"24:00 close allowed", BusinessHours{Enabled: true, TimeZone: "Asia/Shanghai", Days: day(6, "18:00", "24:00")}, ""},
		{"one-minute window", BusinessHours{Days: day(3, "23:59", "24:00")}, ""},
		{"weekday 0 and 6 are bounds", BusinessHours{Days: []OpenDays{
			{Weekday: 0, Open: "09:00", Close: "10:00"}, {Weekday: 6, Open: "09:00", Close: "10:00"}}}, ""},
		{"valid holiday", BusinessHours{Holidays: []string{"2026-10-01", "2026-02-28"}}, ""},
		{"unknown time zone", BusinessHours{Enabled: true, TimeZone: "Mars/Olympus_Mons"}, "time_zone"},
		{"unknown time zone even when disabled", BusinessHours{TimeZone: "Not/AZone"}, "time_zone"},
		{"open equals close", BusinessHours{Days: day(1, "09:00", "09:00")}, "business_hours"},
		{"open after close", BusinessHours{Days: day(1, "18:00", "09:00")}, "business_hours"},
		{"weekday 7", BusinessHours{Days: day(7, "09:00", "18:00")}, "business_hours"},
		{"weekday -1", BusinessHours{Days: day(-1, "09:00", "18:00")}, "business_hours"},
		{"close 24:01", BusinessHours{Days: day(1, "09:00", "24:01")}, "business_hours"},
		{"close 25:00", BusinessHours{Days: day(1, "09:00", "25:00")}, "business_hours"},
		{"open 24:00 (nothing after it)", BusinessHours{Days: day(1, "24:00", "24:00")}, "business_hours"},
		{"minute 60", BusinessHours{Days: day(1, "09:60", "18:00")}, "business_hours"},
		{"empty open", BusinessHours{Days: day(1, "", "18:00")}, "business_hours"},
		{"garbage close", BusinessHours{Days: day(1, "09:00", "six pm")}, "business_hours"},
		{"second day invalid", BusinessHours{Days: []OpenDays{
			{Weekday: 1, Open: "09:00", Close: "18:00"}, {Weekday: 2, Open: "18:00", Close: "09:00"}}}, "business_hours"},
		{"holiday bad month", BusinessHours{Holidays: []string{"2026-13-01"}}, "holidays"},
		{"holiday Feb 30", BusinessHours{Holidays: []string{"2026-02-30"}}, "holidays"},
		{"holiday slashes", BusinessHours{Holidays: []string{"2026/10/01"}}, "holidays"},
		{"holiday with time", BusinessHours{Holidays: []string{"2026-10-01T00:00:00Z"}}, "holidays"},
		{"holiday empty string", BusinessHours{Holidays: []string{""}}, "holidays"},
		{"one bad holiday among good", BusinessHours{Holidays: []string{"2026-10-01", "tomorrow"}}, "holidays"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.hours.Validate()
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			assertInvalidField(t, err, tc.wantField)
		})
	}
}

// assertInvalidField checks that err is a domain "invalid" error naming field.
func assertInvalidField(t *testing.T, err error, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want invalid %q", field)
	}
	if !IsCode(err, CodeInvalid) {
		t.Fatalf("error %v has code %q, want %q", err, ErrorCode(err), CodeInvalid)
	}
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %T is not *Error", err)
	}
	if e.Field != field {
		t.Fatalf("error field = %q, want %q (%v)", e.Field, field, err)
	}
}

func TestRoutingSettingsOfferTimeout(t *testing.T) {
	tests := []struct {
		name string
		s    int
		want time.Duration
	}{
		{"zero defaults to 30s", 0, 30 * time.Second},
		{"negative defaults to 30s", -5, 30 * time.Second},
		{"one second", 1, time.Second},
		{"explicit 45s", 45, 45 * time.Second},
		{"maximum 3600s", 3600, time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (RoutingSettings{OfferTimeoutS: tc.s}).OfferTimeout(); got != tc.want {
				t.Fatalf("OfferTimeout() with %d = %v, want %v", tc.s, got, tc.want)
			}
		})
	}
}

func TestRoutingSettingsReopenWindow(t *testing.T) {
	tests := []struct {
		name string
		s    int
		want time.Duration
	}{
		{"zero defaults to 24h", 0, 24 * time.Hour},
		{"minus one means never", -1, 0},
		{"other negative also never", -7, 0},
		{"explicit one second", 1, time.Second},
		{"explicit 3600s", 3600, time.Hour},
		{"explicit 7 days", 7 * 86400, 7 * 24 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (RoutingSettings{ReopenWindowS: tc.s}).ReopenWindow(); got != tc.want {
				t.Fatalf("ReopenWindow() with %d = %v, want %v", tc.s, got, tc.want)
			}
		})
	}
}

func TestRoutingSettingsValidate(t *testing.T) {
	tests := []struct {
		name      string
		rs        RoutingSettings
		wantField string // "" means valid
	}{
		{"zero value is valid", RoutingSettings{}, ""},
		{"offer timeout 0 (default)", RoutingSettings{OfferTimeoutS: 0}, ""},
		{"offer timeout 1", RoutingSettings{OfferTimeoutS: 1}, ""},
		{"offer timeout 3600", RoutingSettings{OfferTimeoutS: 3600}, ""},
		{"offer timeout 3601", RoutingSettings{OfferTimeoutS: 3601}, "offer_timeout_s"},
		{"offer timeout -1", RoutingSettings{OfferTimeoutS: -1}, "offer_timeout_s"},
		{"reopen window -1 (never)", RoutingSettings{ReopenWindowS: -1}, ""},
		{"reopen window explicit", RoutingSettings{ReopenWindowS: 3600}, ""},
		{"reopen window -2", RoutingSettings{ReopenWindowS: -2}, "reopen_window_s"},
		{"reopen window very negative", RoutingSettings{ReopenWindowS: math.MinInt32}, "reopen_window_s"},
		{"limits set", RoutingSettings{MaxQueueLength: 50, MaxWaitS: 600, AutoCloseAfterS: 3600, RequeueOnAgentOffline: true}, ""},
		{"negative max queue length", RoutingSettings{MaxQueueLength: -1}, "routing"},
		{"negative max wait", RoutingSettings{MaxWaitS: -1}, "routing"},
		{"negative auto close", RoutingSettings{AutoCloseAfterS: -1}, "routing"},
		{"valid business hours", RoutingSettings{BusinessHours: shanghaiWeekdayHours()}, ""},
		{"invalid business hours time zone propagates", RoutingSettings{
			BusinessHours: BusinessHours{Enabled: true, TimeZone: "Bogus/Zone"}}, "time_zone"},
		{"invalid business hours day propagates", RoutingSettings{
			BusinessHours: BusinessHours{Days: []OpenDays{{Weekday: 1, Open: "18:00", Close: "09:00"}}}}, "business_hours"},
		{"invalid holiday propagates", RoutingSettings{
			BusinessHours: BusinessHours{Holidays: []string{"10/01/2026"}}}, "holidays"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.rs.Validate()
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			assertInvalidField(t, err, tc.wantField)
		})
	}
}
