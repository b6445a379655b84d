//go:build !unix

package bench

import "os"

// peakRSS is unknown where the system reports no rusage.
func peakRSS(*os.ProcessState) int64 { return 0 }
