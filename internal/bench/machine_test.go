package bench

import (
	"os"
	"strings"
	"testing"
	"time"
)

const procStat = `cpu  94355 12 24408 55096 6731 3 4507 2803 0 0
cpu0 47000 6 12000 27000 3000 1 2200 1400 0 0
intr 1 2 3
`

func TestParseMachineCPU(t *testing.T) {
	m, err := parseMachineCPU(procStat)
	if err != nil {
		t.Fatal(err)
	}
	tick := func(n int64) time.Duration { return time.Duration(n) * 10 * time.Millisecond }
	want := MachineCPU{Busy: tick(94355 + 12 + 24408 + 3 + 4507), Idle: tick(55096 + 6731), Steal: tick(2803)}
	if m != want {
		t.Fatalf("got %+v, want %+v", m, want)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6 7 8\n", "cpu  1 2 3 4 5 6 7\n", "cpu  1 2 x 4 5 6 7 8\n"} {
		if _, err := parseMachineCPU(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// The machine's other work is what the machine's busy time holds beyond the server's, the generator's and the
// database's; a busy machine gets a note, a quiet one none.
func TestMachineShares(t *testing.T) {
	at := time.Unix(1000, 0)
	a := usage{at: at, mach: MachineCPU{Busy: 10 * time.Second, Idle: 50 * time.Second, Steal: time.Second}}
	b := a
	b.at = at.Add(10 * time.Second)
	b.server.CPU = 6 * time.Second
	b.gen = 4 * time.Second
	b.db.CPU = 2 * time.Second
	b.mach = MachineCPU{Busy: 25 * time.Second, Idle: 52 * time.Second, Steal: 4 * time.Second}
	got, ok := machineShares(a, b)
	if !ok || got.Other != 30.0 || got.Steal != 30.0 || got.Idle != 20.0 {
		t.Fatalf("shares %+v (%v)", got, ok)
	}
	r := &Result{Extra: map[string]any{"other_cpu_pct": got.Other, "steal_pct": got.Steal}}
	if note := r.BusyMachine(); !strings.Contains(note, "other processes took 30 % of a CPU and the hypervisor stole 30 %") {
		t.Fatalf("note %q", note)
	}
	// Only what was high is named.
	r = &Result{Extra: map[string]any{"other_cpu_pct": 0.0, "steal_pct": 12.0}}
	if note := r.BusyMachine(); strings.Contains(note, "other processes") || !strings.Contains(note, "stole 12 %") {
		t.Fatalf("steal only: %q", note)
	}

	// Counters read at slightly different moments: never below zero.
	b.mach.Busy = 21 * time.Second
	if got, _ := machineShares(a, b); got.Other != 0.0 {
		t.Fatalf("other %v", got.Other)
	}
	r = &Result{Extra: map[string]any{"other_cpu_pct": 19.9, "steal_pct": 4.9}}
	if note := r.BusyMachine(); note != "" {
		t.Fatalf("a quiet run got a note: %q", note)
	}
	if got, ok := machineShares(usage{}, b); ok {
		t.Fatalf("no first snapshot: %+v", got)
	}
}

// On this machine, the machine's busy time holds this process's: spinning for half a second of this
// process's CPU moves the machine's busy time by as much (less a few 10 ms ticks of reading apart).
func TestReadMachineCPU(t *testing.T) {
	a, err := ReadMachineCPU()
	if err != nil {
		t.Fatal(err)
	}
	self0, err := ProcUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	var self Usage
	for x := uint64(1); ; x = x*6364136223846793005 + 1442695040888963407 {
		if x%(1<<16) == 0 {
			if self, err = ProcUsage(os.Getpid()); err != nil {
				t.Fatal(err)
			}
			if self.CPU-self0.CPU >= 500*time.Millisecond {
				break
			}
		}
	}
	b, err := ReadMachineCPU()
	if err != nil {
		t.Fatal(err)
	}
	if spun := self.CPU - self0.CPU; b.Busy-a.Busy < spun-50*time.Millisecond {
		t.Fatalf("the machine was busy %v while this process alone used %v of CPU", b.Busy-a.Busy, spun)
	}
}

func TestSyncProbe(t *testing.T) {
	dir := t.TempDir()
	p50, p99, err := SyncProbe(dir, 20)
	if err != nil {
		t.Fatal(err)
	}
	if p50 <= 0 || p99 < p50 {
		t.Fatalf("p50 %v, p99 %v", p50, p99)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Fatalf("left behind %v (%v)", ents, err)
	}
	if _, _, err := SyncProbe(dir, 0); err == nil {
		t.Fatal("no syncs asked for: no error")
	}
	if _, _, err := SyncProbe(dir+"/missing", 5); err == nil {
		t.Fatal("a missing directory: no error")
	}
}
