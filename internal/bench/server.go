package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Build compiles cmd/parley of the module at root into dir and returns the binary's path.
func Build(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "parley")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/parley")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/parley: %w\n%s", err, out)
	}
	return bin, nil
}

// ModuleRoot returns the directory of the go.mod that the current directory belongs to.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run parley-bench inside the Parley checkout (no go.mod found)")
	}
	return filepath.Dir(mod), nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Server is `parley serve` running as a child process on a loopback port.
type Server struct {
	Bin       string
	DataDir   string
	DB        string // PARLEY_DB form (mysql://...), "" for SQLite in DataDir
	Port      int
	DebugAddr string   // pprof listener, "" = none
	Extra     []string // more serve flags
	Password  string   // the admin's password
	Email     string
	LogPath   string

	URL     string
	SiteKey string // printed on the first run

	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{}
	exit  error
	log   *os.File
	Start time.Time
}

var siteRE = regexp.MustCompile(`data-site="([^"]+)"`)

// Run starts the server and waits until it answers /readyz.
func (s *Server) Run(ctx context.Context) error {
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", s.Port)
	args := []string{"serve", "-addr", fmt.Sprintf("127.0.0.1:%d", s.Port), "-data-dir", s.DataDir,
		"-public-url", s.URL, "-admin-email", s.Email, "-admin-password", s.Password, "-log-level", "warn"}
	if s.DB != "" {
		args = append(args, "-db", s.DB)
	}
	if s.DebugAddr != "" {
		args = append(args, "-debug-addr", s.DebugAddr)
	}
	args = append(args, s.Extra...)
	if s.log == nil {
		f, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		s.log = f
	}
	fmt.Fprintf(s.log, "\n=== %s start: %s %s\n", time.Now().Format(time.RFC3339Nano), s.Bin, strings.Join(args, " "))
	cmd := exec.Command(s.Bin, args...)
	// The server chooses its own GOMAXPROCS, as it does deployed (cmd/parley: the CPUs and one more); a
	// GOMAXPROCS in the benchmark's environment is not passed on (PARLEY_BENCH_SERVER_ENV can set one).
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GOMAXPROCS=") })
	// PARLEY_BENCH_SERVER_ENV adds variables to the server's environment only (not the generators'), e.g.
	// "GOGC=200 GODEBUG=gctrace=1", for experiments on the server's runtime.
	cmd.Env = append(cmd.Env, strings.Fields(os.Getenv("PARLEY_BENCH_SERVER_ENV"))...)
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = s.log
	// The server goes down with the benchmark if the benchmark dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.Bin, err)
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.done, s.Start = cmd, done, time.Now()
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		pw.Close()
		s.mu.Lock()
		s.exit = err
		s.mu.Unlock()
		close(done)
	}()
	site := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(s.log, line)
			if m := siteRE.FindStringSubmatch(line); m != nil {
				select {
				case site <- m[1]:
				default:
				}
			}
		}
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("parley exited during start-up (%v); see %s", s.exitErr(), s.LogPath)
		case <-ctx.Done():
			return ctx.Err()
		case k := <-site:
			s.SiteKey = k
		case <-time.After(20 * time.Millisecond):
		}
		if ready(s.URL) {
			if s.SiteKey == "" {
				select {
				case k := <-site:
					s.SiteKey = k
				case <-time.After(200 * time.Millisecond):
				}
			}
			return nil
		}
	}
	return fmt.Errorf("parley did not become ready in 2 minutes; see %s", s.LogPath)
}

func ready(base string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(base + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (s *Server) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exit
}

// Pid returns the running server's process id (0 when none).
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Kill sends SIGKILL, as a crash would, and waits for the process to be gone.
func (s *Server) Kill() error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	fmt.Fprintf(s.log, "=== %s kill -9\n", time.Now().Format(time.RFC3339Nano))
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-done
	return nil
}

// Stop shuts the server down gracefully (SIGTERM), killing it after a grace period.
func (s *Server) Stop() error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	return nil
}

// Close stops the server and closes its log.
func (s *Server) Close() {
	s.Stop()
	if s.log != nil {
		s.log.Close()
		s.log = nil
	}
}

// Usage is a process's CPU time and memory, read from /proc.
type Usage struct {
	CPU time.Duration // user + system
	RSS int64         // resident set, bytes
	// The resident set's parts: anonymous memory (the Go heap and stacks, SQLite's page cache) and pages of
	// mapped files (the SQLite database, which the store maps, and the executable) plus shared memory (the WAL
	// index). The file pages are the kernel's page cache, shared and reclaimable.
	RSSAnon, RSSFile int64
	FDs              int // open file descriptors
}

// ProcUsage reads /proc/<pid>/stat (utime, stime) and /proc/<pid>/status (VmRSS).
func ProcUsage(pid int) (Usage, error) {
	var u Usage
	if pid <= 0 {
		return u, errors.New("no process")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, err
	}
	// The command name may hold spaces; the fields after it are fixed.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return u, errors.New("malformed /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return u, errors.New("malformed /proc stat")
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64) // field 14 of the file
	stime, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	const hz = 100                              // USER_HZ on Linux
	u.CPU = time.Duration(utime+stime) * time.Second / hz
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(st), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		switch name {
		case "VmRSS":
			u.RSS = kb * 1024
		case "RssAnon":
			u.RSSAnon = kb * 1024
		case "RssFile", "RssShmem":
			u.RSSFile += kb * 1024
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		u.FDs = len(ents)
	}
	return u, nil
}

// MachineCPU is the whole machine's CPU time, summed over its CPUs, from the first line of /proc/stat.
type MachineCPU struct {
	Busy  time.Duration // user, nice, system, irq and softirq (guest time is inside user)
	Idle  time.Duration // idle and iowait
	Steal time.Duration // the hypervisor ran something else while this machine's CPU wanted to run
}

// ReadMachineCPU reads /proc/stat.
func ReadMachineCPU() (MachineCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return MachineCPU{}, err
	}
	return parseMachineCPU(string(b))
}

// parseMachineCPU reads the aggregate "cpu" line of a /proc/stat text: user nice system idle iowait irq softirq
// steal [guest guest_nice], in USER_HZ ticks.
func parseMachineCPU(text string) (MachineCPU, error) {
	line, _, _ := strings.Cut(text, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return MachineCPU{}, errors.New("malformed /proc/stat: no aggregate cpu line with steal time")
	}
	var t [8]int64
	for i := range t {
		v, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return MachineCPU{}, fmt.Errorf("malformed /proc/stat: %w", err)
		}
		t[i] = v
	}
	const hz = 100 // USER_HZ on Linux
	tick := func(n int64) time.Duration { return time.Duration(n) * time.Second / hz }
	return MachineCPU{Busy: tick(t[0] + t[1] + t[2] + t[5] + t[6]), Idle: tick(t[3] + t[4]), Steal: tick(t[7])}, nil
}

// SyncProbe writes n blocks of 56 KiB (a commit of 14 pages, S1's size) one after another to a new file in dir,
// each followed by an fsync, and returns the p50 and p99 of the syncs; the file is removed.
func SyncProbe(dir string, n int) (p50, p99 time.Duration, err error) {
	if n < 1 {
		return 0, 0, errors.New("sync probe: no syncs asked for")
	}
	f, err := os.CreateTemp(dir, "sync-probe-")
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	block := make([]byte, 56<<10)
	ds := make([]time.Duration, 0, n)
	for i := range n {
		if _, err := f.WriteAt(block, int64(i)*int64(len(block))); err != nil {
			return 0, 0, err
		}
		t := time.Now()
		if err := f.Sync(); err != nil {
			return 0, 0, err
		}
		ds = append(ds, time.Since(t))
	}
	slices.Sort(ds)
	return ds[(n-1)/2], ds[min(n-1, n*99/100)], nil
}

// FindProcess returns the pid of the first process whose command name is comm (e.g. mariadbd), or 0.
func FindProcess(comm string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err == nil && strings.TrimSpace(string(b)) == comm {
			return pid
		}
	}
	return 0
}
