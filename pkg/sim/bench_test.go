package sim

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkBackfillMonth writes 30 days of the default workload (about half a million queries)
// into a fresh database, as the simulate command's backfill does:
//
//	go test -run '^$' -bench BackfillMonth -benchtime 1x ./pkg/sim
//
// Besides the wall time it reports the CPU time of the PostgreSQL backend and of this process,
// because on a shared machine the wall time says more about the neighbours than about sim.
func BenchmarkBackfillMonth(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		conn := cluster(b)
		var pid int
		if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			b.Fatal(err)
		}
		w := workload(b, DefaultOptions())
		pg0, self0 := processCPU(pid), ownCPU()
		b.StartTimer()
		s, err := w.Backfill(ctx, conn, epoch, epoch.Add(30*24*time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(float64(s.Rows["stl_query"]), "queries")
		b.ReportMetric(float64(s.Total()), "rows")
		if pg := processCPU(pid); pg >= 0 {
			b.ReportMetric((pg - pg0).Seconds(), "pg-cpu-s")
		}
		b.ReportMetric((ownCPU() - self0).Seconds(), "go-cpu-s")
		conn.Close(ctx)
		b.StartTimer()
	}
}

// processCPU is the CPU time of a local process from /proc, or -1 where there is none.
func processCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	var user, sys int64
	fmt.Sscan(fields[11], &user)
	fmt.Sscan(fields[12], &sys)
	return time.Duration(user+sys) * 10 * time.Millisecond // clock ticks of 1/100 s
}

func ownCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
