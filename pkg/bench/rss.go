package bench

import (
	"os"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb/worker"
)

// ownPeakRSS is the calling process's own largest resident set in bytes (VmHWM in
// /proc/self/status), or 0 where the system has no such file.
//
// A child reports it itself because the rusage a parent reads after wait is not the child's
// alone on Linux: Go starts a child with a vfork-style clone that shares the parent's memory
// until exec, and at exec the kernel folds the high-water mark of that memory, the parent's,
// into the child's maxrss. A bench parent that backfilled and exported a day before starting
// its compaction child saw its own peak reported as the child's.
func ownPeakRSS() int64 { return worker.VmHWM(os.Getpid()) }

// childPeakRSS is a finished child's peak resident set: the one it reported itself, else the
// kernel's rusage (which on Linux may be the parent's, see ownPeakRSS).
func childPeakRSS(reported int64, ps *os.ProcessState) int64 {
	if reported > 0 {
		return reported
	}
	return peakRSS(ps)
}
