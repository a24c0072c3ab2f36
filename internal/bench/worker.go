package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// A worker is this program re-executed with -worker: a generator process holding part of the clients, so
// that no process exceeds its open-file limit. The coordinator writes the EngineSpec as the first line of the
// worker's stdin, then one request per line; the worker answers each with one line on stdout.

type workerRequest struct {
	Op         string `json:"op"` // connect, run, drop, status, phase, finish
	From       int    `json:"from,omitempty"`
	To         int    `json:"to,omitempty"`
	Phase      *Phase `json:"phase,omitempty"`
	ID         int    `json:"id,omitempty"`
	Disconnect bool   `json:"disconnect,omitempty"`
}

type workerReply struct {
	Err    string        `json:"err,omitempty"`
	Status *Status       `json:"status,omitempty"`
	Phase  *PhaseResult  `json:"phase,omitempty"`
	Result *EngineResult `json:"result,omitempty"`
}

// ServeWorker runs a worker: it reads the spec and requests from in and answers on out until finish or EOF.
func ServeWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	r := bufio.NewReaderSize(in, 1<<20)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("worker: read spec: %w", err)
	}
	var spec EngineSpec
	if err := json.Unmarshal(line, &spec); err != nil {
		return fmt.Errorf("worker: spec: %w", err)
	}
	e := NewEngine(spec)
	defer e.Close()
	enc := json.NewEncoder(out)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		var req workerRequest
		if err := json.Unmarshal(line, &req); err != nil {
			return fmt.Errorf("worker: request: %w", err)
		}
		var rep workerReply
		switch req.Op {
		case "connect":
			err = e.Connect(ctx, req.From, req.To)
		case "run":
			err = e.Run(*req.Phase)
		case "drop":
			err = e.Drop(req.Disconnect)
		case "status":
			var st Status
			st, err = e.Status()
			rep.Status = &st
		case "phase":
			rep.Phase, err = e.Phase(req.ID)
		case "finish":
			rep.Result, err = e.Finish()
		default:
			err = fmt.Errorf("unknown op %q", req.Op)
		}
		if err != nil {
			rep.Err = err.Error()
		}
		if err := enc.Encode(rep); err != nil {
			return err
		}
		if req.Op == "finish" {
			return nil
		}
	}
}

// Worker is a generator process driven through its stdin and stdout.
type Worker struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Reader
	mu    sync.Mutex
	done  chan struct{}
	stuck error // set when the worker did not answer in time; every later call fails with it
}

// StartWorker runs exe -worker with spec; the worker's stderr goes to logw.
func StartWorker(exe string, spec EngineSpec, logw io.Writer) (*Worker, error) {
	cmd := exec.Command(exe, "-worker")
	cmd.Stderr = logw
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker %s: %w", exe, err)
	}
	w := &Worker{cmd: cmd, in: in, out: bufio.NewReaderSize(outp, 1<<20), done: make(chan struct{})}
	go func() { cmd.Wait(); close(w.done) }()
	b, _ := json.Marshal(spec)
	if _, err := w.in.Write(append(b, '\n')); err != nil {
		w.Close()
		return nil, fmt.Errorf("worker: send spec: %w", err)
	}
	return w, nil
}

// Pid is the worker's process id.
func (w *Worker) Pid() int { return w.cmd.Process.Pid }

// Executable is the path to re-execute for workers.
func Executable() (string, error) { return os.Executable() }

// opTimeout bounds how long a worker may take to answer op. Every op's own waits are bounded (sends by their
// ack timeout, connects by the client's dial and hello timeouts), so a worker past this is stuck: the benchmark
// must end with an error that says where, not wait forever (an S6 run once waited 40 minutes).
func opTimeout(op string) time.Duration {
	if d, ok := opTimeouts[op]; ok {
		return d
	}
	return opTimeouts[""]
}

var opTimeouts = map[string]time.Duration{"connect": 15 * time.Minute, "finish": 5 * time.Minute, "": time.Minute}

func (w *Worker) call(req workerRequest) (*workerReply, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stuck != nil {
		return nil, w.stuck
	}
	b, _ := json.Marshal(req)
	if _, err := w.in.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("worker %s: %w", req.Op, err)
	}
	type answer struct {
		line []byte
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		line, err := w.out.ReadBytes('\n')
		ch <- answer{line, err}
	}()
	var a answer
	select {
	case a = <-ch:
	case <-time.After(opTimeout(req.Op)):
		// SIGQUIT: the Go runtime writes every goroutine's stack to the worker's log, then exits.
		_ = w.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-w.done:
		case <-time.After(5 * time.Second):
			_ = w.cmd.Process.Kill()
		}
		w.stuck = fmt.Errorf("worker %d: no answer to %q in %s; its goroutines are in its log (worker-N.log, kept with -keep)",
			w.cmd.Process.Pid, req.Op, opTimeout(req.Op))
		return nil, w.stuck
	}
	line, err := a.line, a.err
	if err != nil {
		return nil, fmt.Errorf("worker %s: no answer: %w", req.Op, err)
	}
	var rep workerReply
	if err := json.Unmarshal(line, &rep); err != nil {
		return nil, fmt.Errorf("worker %s: %w", req.Op, err)
	}
	if rep.Err != "" {
		return &rep, fmt.Errorf("worker %s: %s", req.Op, rep.Err)
	}
	return &rep, nil
}

// Connect implements Gen.
func (w *Worker) Connect(_ context.Context, from, to int) error {
	_, err := w.call(workerRequest{Op: "connect", From: from, To: to})
	return err
}

// Run implements Gen.
func (w *Worker) Run(ph Phase) error {
	_, err := w.call(workerRequest{Op: "run", Phase: &ph})
	return err
}

// Drop implements Gen.
func (w *Worker) Drop(disconnect bool) error {
	_, err := w.call(workerRequest{Op: "drop", Disconnect: disconnect})
	return err
}

// Status implements Gen.
func (w *Worker) Status() (Status, error) {
	rep, err := w.call(workerRequest{Op: "status"})
	if err != nil {
		return Status{}, err
	}
	return *rep.Status, nil
}

// Phase implements Gen.
func (w *Worker) Phase(id int) (*PhaseResult, error) {
	rep, err := w.call(workerRequest{Op: "phase", ID: id})
	if err != nil {
		return nil, err
	}
	return rep.Phase, nil
}

// Finish implements Gen.
func (w *Worker) Finish() (*EngineResult, error) {
	rep, err := w.call(workerRequest{Op: "finish"})
	if err != nil {
		return nil, err
	}
	w.in.Close()
	<-w.done
	return rep.Result, nil
}

// Close ends the worker.
func (w *Worker) Close() {
	w.in.Close()
	select {
	case <-w.done:
	default:
		_ = w.cmd.Process.Kill()
		<-w.done
	}
}
