package export_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const queryGroup = simtest.QueryGroup

type simCluster = simtest.Cluster

func newSimCluster(t *testing.T, name string, rate float64) *simCluster {
	return simtest.New(t, name, rate)
}

func testConfig(t *testing.T, root string, clusters ...config.Cluster) config.Config {
	return config.Config{
		Archive: config.Archive{Path: root},
		State:   config.State{Path: filepath.Join(root, ".state", "export.db")},
		Export: config.Export{Enabled: true, Interval: time.Second, Lag: simtest.Lag, Concurrency: 4,
			Tables: tables.Names(), QueryGroup: queryGroup, Timeout: 2 * time.Minute},
		Clusters: clusters,
	}
}

func openExporter(t *testing.T, cfg config.Config, opts export.Options) *export.Exporter {
	t.Helper()
	e, err := export.Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func mustCycle(t *testing.T, e *export.Exporter) []export.Result {
	t.Helper()
	res := e.Cycle(context.Background())
	for _, r := range res {
		if err := r.Failed(); err != nil {
			t.Fatalf("cycle: %v", err)
		}
	}
	return res
}

func waitPastLag(t *testing.T, c *simCluster, at time.Time) { simtest.WaitPastLag(t, c, at) }

func assertArchiveEqualsSource(t *testing.T, root string, store state.Store, c *simCluster) {
	simtest.AssertArchiveEqualsSource(t, root, store, c)
}
