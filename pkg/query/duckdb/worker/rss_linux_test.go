package worker

import (
	"context"
	"runtime"
	"testing"
)

// A worker's recorded peak is its own, not the parent's: on Linux the kernel counts the parent's
// peak into a child's rusage maxrss, so a plugin process that once held much memory would make
// every worker look as big (and a worker that crashed look as if it had reached its bound).
func TestWorkerPeakIsItsOwnNotItsParents(t *testing.T) {
	const held = 768 << 20
	ballast := make([]byte, held)
	for i := range ballast {
		ballast[i] = 1 // touched, so resident
	}
	p := openPool(t, t.TempDir(), Options{})
	if _, err := p.Query(context.Background(), "SELECT 42"); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(ballast)
	peak := p.Stats().PeakRSS
	if peak <= 0 || peak >= held/2 {
		t.Fatalf("worker peak %d MiB with this process holding %d MiB: want the worker's own, above 0 and under %d MiB", peak>>20, held>>20, held>>21)
	}
}

// Each runtime's words for a failed allocation are read as the memory bound, among them the Go
// runtime's when cgo's malloc fails (seen when DuckDB bound a view over a month of windows).
func TestAllocationFailuresOfEachRuntimeAreOutOfMemory(t *testing.T) {
	for _, tail := range []string{
		"fatal error: runtime: out of memory",
		"terminate called after throwing an instance of 'std::bad_alloc'",
		"fatal error: runtime: C malloc failed",
		"Out of Memory Error: Failed to allocate block of 262144 bytes",
		"mmap: cannot allocate memory",
	} {
		if !isOutOfMemory(tail) {
			t.Errorf("%q is not read as out of memory", tail)
		}
	}
	if isOutOfMemory("panic: runtime error: index out of range [3] with length 3") {
		t.Error("an index error is read as out of memory")
	}
}
