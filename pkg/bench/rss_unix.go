//go:build unix

package bench

import (
	"os"
	"runtime"
	"syscall"
)

// peakRSS is the largest resident set of a finished process, in bytes, as rusage has it. On
// Linux that includes the parent's own peak (see ownPeakRSS): use it only where the child
// reported none.
func peakRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	// Linux counts ru_maxrss in KiB, macOS in bytes.
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) * 1024
}
