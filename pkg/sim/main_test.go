package sim

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// cluster connects to a fresh database with the STL tables created.
func cluster(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.Database(t, "sim"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if err := Create(ctx, conn); err != nil {
		t.Fatal(err)
	}
	return conn
}

// busy is a workload dense enough that a few minutes hold every kind of row and edge case.
func busy(seed uint64) Options {
	o := DefaultOptions()
	o.Rate = 20
	o.LongShare = 0.05
	o.LongMax = 3 * time.Minute
	o.LateShare = 0.2
	o.MaxLateness = 30 * time.Second
	o.SpecialShare = 0.4
	o.LongTextShare = 0.1
	o.DDLPerQuery = 0.1
	o.UtilityPerQuery = 0.2
	o.Seed = seed
	return o
}

var epoch = time.Date(2026, 11, 2, 14, 0, 0, 0, time.UTC)
