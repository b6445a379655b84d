package worker

import (
	"context"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
)

// envWorker, when set in a process's environment, turns it into a query worker before main
// runs (see init). Its value is the worker's configuration as JSON.
const envWorker = "STLARCHIVE_QUERY_WORKER"

// The worker's end of the pipes: requests come in on fd 3, responses go out on fd 4.
const (
	requestFD  = 3
	responseFD = 4
)

// childConfig is what the parent tells a worker.
type childConfig struct {
	Root        string
	Timeout     time.Duration
	MaxRows     int
	MemoryLimit string // DuckDB's memory_limit
	Threads     int
	// DataLimit is the worker's RLIMIT_DATA in bytes: every private writable mapping of the
	// process (heap, mmap'ed allocations, thread stacks) counts against it.
	DataLimit uint64
}

// init makes every binary that links this package able to serve as a query worker: the pool
// re-executes its own binary with envWorker set, and the worker must start before anything else
// of the binary (the plugin's go-plugin handshake, the CLI's argument parsing) runs. Package
// initialisation is the one point that precedes every main.
func init() {
	if v, ok := os.LookupEnv(envWorker); ok {
		os.Exit(serve(v))
	}
}

// serve runs the worker until its request pipe closes. Its exit status is 0 then, 1 when it
// could not start.
func serve(config string) int {
	in := os.NewFile(requestFD, "requests")
	out := os.NewFile(responseFD, "responses")
	if in == nil || out == nil {
		fmt.Fprintln(os.Stderr, "query worker: started without its pipes")
		return 1
	}
	enc := gob.NewEncoder(out)
	fail := func(err error) int {
		enc.Encode(response{Err: &wireError{Msg: err.Error()}})
		return 1
	}
	var cfg childConfig
	if err := json.Unmarshal([]byte(config), &cfg); err != nil {
		return fail(fmt.Errorf("query worker: bad configuration: %w", err))
	}
	if cfg.DataLimit > 0 {
		lim := syscall.Rlimit{Cur: cfg.DataLimit, Max: cfg.DataLimit}
		if err := syscall.Setrlimit(syscall.RLIMIT_DATA, &lim); err != nil {
			return fail(fmt.Errorf("query worker: set memory bound: %w", err))
		}
	}
	// The Go side holds the result while it is encoded: let its collector work harder rather
	// than reach the OS bound.
	debug.SetMemoryLimit(int64(cfg.DataLimit / 2))
	ctx := context.Background()
	engine, err := duckdb.Open(ctx, cfg.Root, duckdb.Options{Timeout: cfg.Timeout, MaxRows: cfg.MaxRows,
		MemoryLimit: cfg.MemoryLimit, Threads: cfg.Threads})
	if err != nil {
		return fail(duckdb.Scrub(err, cfg.Root))
	}
	defer engine.Close()
	if err := enc.Encode(response{}); err != nil {
		return 1
	}
	dec := gob.NewDecoder(in)
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if err == io.EOF {
				return 0
			}
			fmt.Fprintln(os.Stderr, "query worker: read request:", err)
			return 1
		}
		var resp response
		switch req.Op {
		case "query":
			res, err := engine.QueryLimit(ctx, req.SQL, req.MaxRows)
			if err != nil {
				resp.Err = encodeError(err)
			} else {
				resp.Result = encodeResult(res)
			}
		case "tables":
			t, err := engine.Tables(ctx)
			if err != nil {
				resp.Err = encodeError(duckdb.Scrub(err, engine.Root()))
			}
			resp.Tables = t
		default:
			resp.Err = &wireError{Msg: fmt.Sprintf("unknown request %q", req.Op)}
		}
		if err := enc.Encode(resp); err != nil {
			fmt.Fprintln(os.Stderr, "query worker: write response:", err)
			return 1
		}
	}
}
