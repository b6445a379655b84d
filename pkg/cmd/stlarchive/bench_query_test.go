package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
)

// BenchmarkQueryMonth runs "stlarchive bench query" once, on the server named by
// STLARCHIVE_BENCH_PG or else on the tests' throwaway PostgreSQL. Extra flags come from
// STLARCHIVE_BENCH_QUERY_ARGS, e.g. "--clusters 2 --days 3":
//
//	go test -run '^$' -bench QueryMonth -benchtime 1x -timeout 4h ./pkg/cmd/stlarchive
func BenchmarkQueryMonth(b *testing.B) {
	pg := os.Getenv("STLARCHIVE_BENCH_PG")
	if pg == "" {
		pg = pgtest.Shared(b).URL("postgres")
	}
	args := append([]string{"--pg", pg, "--dashboard", repoFile(b, "provisioning/dashboards/stlarchive/overview.json")},
		strings.Fields(os.Getenv("STLARCHIVE_BENCH_QUERY_ARGS"))...)
	for b.Loop() {
		if err := runBenchQuery(context.Background(), args); err != nil {
			b.Fatal(err)
		}
	}
}

func repoFile(t testing.TB, rel string) string {
	root, err := pgtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root + "/" + rel
}
