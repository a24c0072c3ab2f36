package httpapi

import (
	"time"
)

// workers runs short tasks — handling what arrived on a connection, writing its queued frames — on goroutines
// that stay around for a moment after their task and take the next one. Under load a task per message would
// otherwise start a goroutine and grow its stack anew every time (the JSON decoding and the store's calls grow
// a fresh 8 KiB stack several times): goroutine creation and stack copying were ~8 % of the server's CPU in an
// S1 profile. Idle workers end after workerIdle, so an idle server, and each idle connection, still holds no
// goroutine; and once the server closes its connections (quit), a worker ends after its task.
type workers struct {
	tasks chan func()   // unbuffered: a send succeeds only when an idle worker is there to take it
	quit  chan struct{} // closed when the server shuts its connections down
}

// workerIdle is how long a worker waits for its next task before it ends.
const workerIdle = 2 * time.Second

func newWorkers(quit chan struct{}) *workers { return &workers{tasks: make(chan func()), quit: quit} }

// run runs f on an idle worker, or on a new one when none is idle. It never waits.
func (w *workers) run(f func()) {
	select {
	case w.tasks <- f:
	default:
		go w.work(f)
	}
}

func (w *workers) work(f func()) {
	var idle *time.Timer
	for {
		f()
		f = nil // not kept alive while waiting
		if idle == nil {
			idle = time.NewTimer(workerIdle)
		} else {
			idle.Reset(workerIdle)
		}
		select {
		case f = <-w.tasks:
		case <-idle.C:
			return
		case <-w.quit:
			idle.Stop()
			return
		}
	}
}
