package httpapi

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every task runs exactly once, however many come at once, and once quit is closed the workers end.
func TestWorkersRunEveryTaskAndEnd(t *testing.T) {
	before := runtime.NumGoroutine()
	quit := make(chan struct{})
	w := newWorkers(quit)
	const n = 1000
	var ran [n]atomic.Int32
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		w.run(func() {
			ran[i].Add(1)
			wg.Done()
		})
	}
	wg.Wait()
	for i := range ran {
		if got := ran[i].Load(); got != 1 {
			t.Fatalf("task %d ran %d times", i, got)
		}
	}
	// Idle workers take the next tasks.
	done := make(chan struct{})
	w.run(func() { close(done) })
	<-done

	close(quit)
	// The workers notice quit at once; the loop only gives a loaded machine time to schedule them.
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 500 {
			t.Fatalf("%d goroutines after quit, %d before the workers", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// After quit a task still runs, on a goroutine that then ends.
	late := make(chan struct{})
	w.run(func() { close(late) })
	<-late
}
