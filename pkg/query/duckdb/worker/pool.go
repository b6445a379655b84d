// Package worker runs the embedded DuckDB engine in child processes so that its limits hold
// whatever a query does. A worker is the process's own binary re-executed in worker mode (the
// package's init catches it before main), with an OS bound on its memory (RLIMIT_DATA) and
// DuckDB's own memory_limit and threads inside; the parent talks to it over two pipes, and kills
// it with SIGKILL when a query outlives its time limit — DuckDB's interrupt is only checked
// between vectors, so one huge function call could otherwise run on for minutes. A killed
// worker is replaced in the background; idle workers stay warm, so a small query pays only the
// round trip. Each worker runs one query at a time; the pool runs up to Options.Workers at once.
//
// The package does not parse or guard SQL, build views or frames: the worker's engine
// (package duckdb) does all of that exactly as it does in-process.
package worker

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
)

// Options bound the pool and each of its queries.
type Options struct {
	// Engine is what each worker's engine gets: time limit, row limit, DuckDB memory_limit
	// (default 1GB) and threads.
	Engine duckdb.Options
	// MemoryBytes is the memory one query may take, in bytes; 0 derives it from
	// Engine.MemoryLimit. A worker's RLIMIT_DATA is MemoryBytes + Overhead.
	MemoryBytes uint64
	// Overhead is what a worker needs beside the query: the Go runtime and DuckDB's own state
	// (256 MiB), and a stack of 8 MiB for each DuckDB thread, which RLIMIT_DATA counts whether
	// it is used or not (the default: 256 MiB + 8 MiB × threads).
	Overhead uint64
	// Workers is the most queries that run at once, each in its own process (default 4).
	Workers int
	// Grace is how long past the time limit the pool waits for the worker's own interrupt before
	// it kills the worker (default 200 ms). It stays well under a second.
	Grace time.Duration
	// Executable is the binary to run as a worker (default: this process's own). It must link
	// this package.
	Executable string
}

const (
	baseOverhead   = 256 << 20
	threadStack    = 8 << 20
	defaultWorkers = 4
	defaultGrace   = 200 * time.Millisecond
	defaultTimeout = 30 * time.Second
	defaultMemory  = "1GB"
	// stderrTail is how much of a worker's stderr the pool keeps to explain its death.
	stderrTail = 4 << 10
)

// Pool answers queries in worker processes. It is safe for concurrent use.
type Pool struct {
	opts  Options
	root  string
	env   string
	idle  chan *worker
	slots chan struct{} // one token per live worker

	mu     sync.Mutex
	closed bool
	live   map[*worker]struct{}
	wg     sync.WaitGroup
	stats  Stats
}

// Stats count what the pool did, for tests and operators.
type Stats struct {
	Started int // workers started
	Killed  int // workers killed at a time limit or after a failure
	// PeakRSS is the largest peak resident set (bytes) of any worker that has exited.
	PeakRSS int64
}

// Open starts a pool over the archive at root with one warm worker, so that a bad root or limit
// fails here rather than at the first query.
func Open(ctx context.Context, root string, opts Options) (*Pool, error) {
	if opts.Engine.Timeout <= 0 {
		opts.Engine.Timeout = defaultTimeout
	}
	if opts.Engine.MemoryLimit == "" {
		opts.Engine.MemoryLimit = defaultMemory
	}
	if opts.MemoryBytes == 0 {
		n, err := ParseBytes(opts.Engine.MemoryLimit)
		if err != nil {
			return nil, fmt.Errorf("open query workers: memory limit: %w", err)
		}
		opts.MemoryBytes = n
	}
	if opts.Overhead == 0 {
		threads := opts.Engine.Threads
		if threads <= 0 {
			threads = runtime.NumCPU() // DuckDB's default
		}
		opts.Overhead = baseOverhead + uint64(threads)*threadStack
	}
	if opts.Workers <= 0 {
		opts.Workers = defaultWorkers
	}
	if opts.Grace <= 0 {
		opts.Grace = defaultGrace
	}
	if opts.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("open query workers: %w", err)
		}
		opts.Executable = exe
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open query workers: archive root: %w", err)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	cfg, err := json.Marshal(childConfig{Root: abs, Timeout: opts.Engine.Timeout, MaxRows: opts.Engine.MaxRows,
		MemoryLimit: opts.Engine.MemoryLimit, Threads: opts.Engine.Threads, DataLimit: opts.MemoryBytes + opts.Overhead})
	if err != nil {
		return nil, err
	}
	p := &Pool{opts: opts, root: abs, env: string(cfg), idle: make(chan *worker, opts.Workers),
		slots: make(chan struct{}, opts.Workers), live: map[*worker]struct{}{}}
	p.slots <- struct{}{}
	w, err := p.start(ctx)
	if err != nil {
		<-p.slots
		return nil, fmt.Errorf("open query workers: %w", err)
	}
	p.idle <- w
	return p, nil
}

// Limits says what bounds a worker: the memory one query may take and the worker's RLIMIT_DATA.
func (p *Pool) Limits() (memory, dataLimit uint64) {
	return p.opts.MemoryBytes, p.opts.MemoryBytes + p.opts.Overhead
}

// Stats returns what the pool did so far.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// PeakRSS is the largest peak resident set, in bytes, of any worker so far: the kernel's
// high-water mark of each live worker (VmHWM), and of each that exited what worker.peak knows.
func (p *Pool) PeakRSS() int64 {
	peak := p.Stats().PeakRSS
	for _, pid := range p.PIDs() {
		if n := VmHWM(pid); n > peak {
			peak = n
		}
	}
	return peak
}

// PIDs lists the live workers' process ids.
func (p *Pool) PIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for w := range p.live {
		out = append(out, w.cmd.Process.Pid)
	}
	return out
}

// Close stops every worker.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	live := make([]*worker, 0, len(p.live))
	for w := range p.live {
		live = append(live, w)
	}
	p.mu.Unlock()
	for _, w := range live {
		w.kill()
	}
	p.wg.Wait()
	return nil
}

// Query runs one SELECT under the engine's time and row limits.
func (p *Pool) Query(ctx context.Context, text string) (*duckdb.Result, error) {
	return p.QueryLimit(ctx, text, 0)
}

// QueryLimit runs one SELECT in a worker with a row limit of its own (it can only lower the
// engine's). Past the time limit (plus Grace) the worker is killed and the query fails with
// duckdb.ErrTimeout; a worker that dies of memory fails it with duckdb.ErrMemory.
func (p *Pool) QueryLimit(ctx context.Context, text string, maxRows int) (*duckdb.Result, error) {
	resp, err := p.call(ctx, request{Op: "query", SQL: text, MaxRows: maxRows})
	if err != nil {
		return nil, err
	}
	if resp.Result == nil {
		return nil, errors.New("query worker answered without a result")
	}
	res, err := resp.Result.decode()
	if err != nil {
		return nil, fmt.Errorf("query worker result: %w", err)
	}
	return res, nil
}

// Tables lists the views and their columns, for editor completion.
func (p *Pool) Tables(ctx context.Context) ([]duckdb.TableInfo, error) {
	resp, err := p.call(ctx, request{Op: "tables"})
	if err != nil {
		return nil, fmt.Errorf("tables: %w", err)
	}
	return resp.Tables, nil
}

func (p *Pool) call(ctx context.Context, req request) (response, error) {
	limit := p.opts.Engine.Timeout
	deadline := time.NewTimer(limit + p.opts.Grace)
	defer deadline.Stop()
	w, err := p.acquire(ctx, deadline.C)
	if err != nil {
		if errors.Is(err, errDeadline) {
			return response{}, timeout(limit, "waiting for a free query worker")
		}
		return response{}, err
	}
	done := make(chan roundTrip, 1)
	go func() {
		resp, err := w.roundTrip(req)
		done <- roundTrip{resp, err}
	}()
	select {
	case rt := <-done:
		if rt.err != nil {
			return response{}, p.died(w, rt.err)
		}
		if rt.resp.Err != nil {
			err := rt.resp.Err.decode()
			if errors.Is(err, duckdb.ErrMemory) {
				// DuckDB caught the allocation failure, but what it holds (cached Parquet
				// footers, its allocator's pools) stays: the same worker would fail the next
				// query too. A fresh one starts in the background.
				p.discard(w)
				<-w.exited
			} else {
				p.release(w)
			}
			return response{}, err
		}
		p.release(w)
		return rt.resp, nil
	case <-deadline.C:
		p.discard(w)
		return response{}, timeout(limit, "the query was stopped")
	case <-ctx.Done():
		// Grafana cancelled the request (a dashboard refresh, a closed panel): the worker may
		// be deep in a function that would not see an interrupt.
		p.discard(w)
		return response{}, ctx.Err()
	}
}

type roundTrip struct {
	resp response
	err  error
}

var errDeadline = errors.New("deadline")

func timeout(limit time.Duration, what string) error {
	return &remoteError{kind: duckdb.ErrTimeout, msg: fmt.Sprintf("%v (limit %s): %s", duckdb.ErrTimeout, limit, what)}
}

// acquire takes an idle worker that is still alive (one may have died while idle: the kernel's
// OOM killer, an operator's kill), or starts one while fewer than Workers live, or waits.
func (p *Pool) acquire(ctx context.Context, deadline <-chan time.Time) (*worker, error) {
	for {
		w, err := p.take(ctx, deadline)
		if err != nil {
			return nil, err
		}
		select {
		case <-w.exited:
			p.discard(w)
			continue
		default:
			return w, nil
		}
	}
}

func (p *Pool) take(ctx context.Context, deadline <-chan time.Time) (*worker, error) {
	select {
	case w := <-p.idle:
		return w, nil
	default:
	}
	select {
	case w := <-p.idle:
		return w, nil
	case p.slots <- struct{}{}:
		w, err := p.start(ctx)
		if err != nil {
			<-p.slots
			return nil, err
		}
		return w, nil
	case <-deadline:
		return nil, errDeadline
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Pool) release(w *worker) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		p.discard(w)
		return
	}
	p.idle <- w
}

// discard kills w, frees its slot and starts a replacement in the background, so the next query
// finds a warm worker.
func (p *Pool) discard(w *worker) {
	w.kill()
	p.mu.Lock()
	p.stats.Killed++
	closed := p.closed
	p.mu.Unlock()
	<-p.slots
	if closed {
		return
	}
	select {
	case p.slots <- struct{}{}:
	default:
		return // a query took the slot already
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		nw, err := p.start(context.Background())
		if err != nil {
			<-p.slots
			return
		}
		p.release(nw)
	}()
}

// died explains the failure of a round trip: the worker's exit and the tail of its stderr.
func (p *Pool) died(w *worker, cause error) error {
	p.discard(w)
	st := w.wait()
	tail := strings.TrimSpace(w.stderr.String())
	mem, _ := p.Limits()
	if errors.Is(cause, errResultTooLarge) {
		return &remoteError{kind: duckdb.ErrMemory, msg: fmt.Sprintf("%v (limit %s): the result is larger than the limit; select fewer or shorter columns",
			duckdb.ErrMemory, formatBytes(mem))}
	}
	if isOutOfMemory(tail) || w.diedNearItsBound(mem) {
		return &remoteError{kind: duckdb.ErrMemory, msg: fmt.Sprintf("%v (limit %s): the query needed more memory than the worker may take",
			duckdb.ErrMemory, formatBytes(mem))}
	}
	return fmt.Errorf("query worker failed (%v, %s): %s", cause, st, duckdb.Scrub(errors.New(w.stderr.firstLine()), p.root))
}

// diedNearItsBound reports whether a worker that crashed had grown past its memory limit before
// it died. Under RLIMIT_DATA a failed allocation does not always say so: a NULL from malloc in
// native code can end the process with SIGSEGV instead of an out-of-memory message.
func (w *worker) diedNearItsBound(limit uint64) bool {
	return w.state != nil && uint64(w.peak()) >= limit
}

// peak is the largest resident set of a worker that exited, as far as it is known: the kernel's
// maxrss when it exceeds what the worker inherited from this process at its start (below that
// it may be this process's own), else the high-water mark read after its last query.
func (w *worker) peak() int64 {
	peak := w.sampled.Load()
	if w.state == nil {
		return peak
	}
	if ru, ok := w.state.SysUsage().(*syscall.Rusage); ok && ru.Maxrss*1024 > w.inherited {
		peak = max(peak, ru.Maxrss*1024)
	}
	return peak
}

// isOutOfMemory tells an allocation failure from other deaths: the Go runtime, the C++ runtime
// and glibc each say so in their own words.
func isOutOfMemory(stderr string) bool {
	s := strings.ToLower(stderr)
	for _, m := range []string{"out of memory", "bad_alloc", "cannot allocate memory", "failed to allocate", "malloc failed"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// start launches one worker and waits for it to open its engine.
func (p *Pool) start(ctx context.Context) (*worker, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errors.New("query workers closed")
	}
	p.mu.Unlock()
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, err
	}
	w := &worker{stderr: &tailBuffer{max: stderrTail}, reqW: reqW, respR: respR,
		budget: &budgetReader{r: respR, limit: int64(p.opts.MemoryBytes)}}
	w.cmd = exec.Command(p.opts.Executable)
	w.cmd.Env = append(os.Environ(), envWorker+"="+p.env)
	w.cmd.ExtraFiles = []*os.File{reqR, respW} // fds 3 and 4
	w.cmd.Stderr = w.stderr
	// The worker dies with the process that started it.
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = w.cmd.Start()
	// On Linux a child starts in its parent's memory until it execs, and the kernel counts the
	// parent's peak into the child's rusage maxrss: read past this, maxrss is the worker's own.
	w.inherited = VmHWM(os.Getpid())
	reqR.Close()
	respW.Close()
	if err != nil {
		reqW.Close()
		respR.Close()
		return nil, fmt.Errorf("start query worker: %w", err)
	}
	w.enc = gob.NewEncoder(reqW)
	w.dec = gob.NewDecoder(w.budget)
	p.mu.Lock()
	p.live[w] = struct{}{}
	p.stats.Started++
	p.mu.Unlock()
	w.exited = make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		// Wait also drains the stderr copy, so the tail is complete once exited is closed.
		w.waitErr = w.cmd.Wait()
		w.state = w.cmd.ProcessState
		p.mu.Lock()
		delete(p.live, w)
		if peak := w.peak(); peak > p.stats.PeakRSS {
			p.stats.PeakRSS = peak
		}
		p.mu.Unlock()
		// Closed last: whoever waits for the exit finds the worker's peak in the stats.
		close(w.exited)
	}()
	w.budget.reset()
	hello := make(chan error, 1)
	go func() {
		var r response
		if err := w.dec.Decode(&r); err != nil {
			hello <- err
			return
		}
		if r.Err != nil {
			hello <- r.Err.decode()
			return
		}
		hello <- nil
	}()
	select {
	case err = <-hello:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		w.kill()
		<-w.exited
		if tail := strings.TrimSpace(w.stderr.String()); tail != "" && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w: %s", err, duckdb.Scrub(errors.New(tail), p.root))
		}
		return nil, fmt.Errorf("start query worker: %w", err)
	}
	return w, nil
}

// worker is one child process and its pipes.
type worker struct {
	cmd    *exec.Cmd
	reqW   *os.File
	respR  *os.File
	enc    *gob.Encoder
	dec    *gob.Decoder
	stderr *tailBuffer
	budget *budgetReader

	exited  chan struct{}
	state   *os.ProcessState
	waitErr error
	once    sync.Once

	// inherited is this process's peak resident set when the worker started; sampled is the
	// worker's own high-water mark (VmHWM) read after each of its answers.
	inherited int64
	sampled   atomic.Int64
}

func (w *worker) roundTrip(req request) (response, error) {
	w.budget.reset()
	if err := w.enc.Encode(req); err != nil {
		return response{}, err
	}
	var resp response
	err := w.dec.Decode(&resp)
	if n := VmHWM(w.cmd.Process.Pid); n > w.sampled.Load() {
		w.sampled.Store(n)
	}
	return resp, err
}

// kill stops the worker at once and closes the parent's ends of its pipes.
func (w *worker) kill() {
	w.once.Do(func() {
		w.cmd.Process.Signal(syscall.SIGKILL)
		w.reqW.Close()
		w.respR.Close()
	})
}

// wait waits for the worker's exit and describes it.
func (w *worker) wait() string {
	<-w.exited
	if w.state == nil {
		return "exit unknown"
	}
	return w.state.String()
}

// budgetReader bounds what one response may bring into the parent: a result as large as the
// worker's memory limit would double the memory the query takes, in the process that must stay up.
type budgetReader struct {
	r     io.Reader
	limit int64
	left  int64
}

var errResultTooLarge = errors.New("result too large")

func (b *budgetReader) reset() { b.left = b.limit }

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errResultTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// tailBuffer keeps the first and the last max bytes written to it: a crashing runtime says why
// on its first line and then dumps every goroutine.
type tailBuffer struct {
	mu   sync.Mutex
	head []byte
	buf  bytes.Buffer
	max  int
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(b)
	if room := t.max - len(t.head); room > 0 {
		k := min(room, len(b))
		t.head = append(t.head, b[:k]...)
		b = b[k:]
	}
	t.buf.Write(b)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return n, nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.head) + t.buf.String()
}

// firstLine is the first non-empty line of a worker's stderr.
func (t *tailBuffer) firstLine() string {
	for _, l := range strings.Split(t.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

var _ io.Writer = (*tailBuffer)(nil)
