package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
)

func TestProbe(t *testing.T) {
	if os.Getenv("PROBE") == "" {
		t.Skip()
	}
	ctx := context.Background()
	p, err := Open(ctx, t.TempDir(), Options{Engine: duckdb.Options{Timeout: 2 * time.Second, MemoryLimit: "512MB", Threads: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, pid := range p.PIDs() {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "Vm") {
				t.Log(l)
			}
		}
	}
	for _, q := range []string{"SELECT 1 AS x", "SELECT len(range(200000000)) AS n", "SELECT 1 AS x",
		"SELECT length(repeat(repeat('x',1000000),3000))", "SELECT list_sum(range(3000000000))", "SELECT count(*) FROM range(10000000000)", "SELECT levenshtein(repeat('a',100000), repeat('b',100000))", "SELECT 2", "SELECT sum(length(repeat('x', 1000000))) FROM range(100000)", "SELECT string_agg(repeat('x', 1000), ',') FROM range(10000000)", "SELECT 3"} {
		began := time.Now()
		res, err := p.Query(ctx, q)
		t.Logf("%s: %v err=%v timeout=%v mem=%v res=%v stats=%+v", q, time.Since(began), err, errors.Is(err, duckdb.ErrTimeout), errors.Is(err, duckdb.ErrMemory), res != nil, p.Stats())
	}
}
