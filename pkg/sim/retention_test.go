package sim

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

func TestDeleteOlderThanDeletesExactlyTheOldRows(t *testing.T) {
	conn := cluster(t)
	ctx := context.Background()
	o := busy(9)
	o.Rate = 2
	if _, err := workload(t, o).Backfill(ctx, conn, epoch, epoch.Add(40*time.Minute)); err != nil {
		t.Fatal(err)
	}
	cutoff := epoch.Add(20 * time.Minute)

	// What must go and what must stay, per table, worked out before the delete.
	age := func(tb tables.Table) string {
		if tb.HasOwnTime() {
			return fmt.Sprintf("FROM %s WHERE %s", tb.Name, tb.TimeColumn)
		}
		p, _ := tables.Lookup(tb.Parent)
		return fmt.Sprintf("FROM %s c JOIN %s p USING (query) WHERE p.%s", tb.Name, p.Name, p.TimeColumn)
	}
	old, young := map[string]int64{}, map[string]int64{}
	var want int64
	for _, tb := range tables.STL() {
		old[tb.Name] = count(t, conn, "SELECT count(*) "+age(tb)+" < $1", cutoff)
		young[tb.Name] = count(t, conn, "SELECT count(*) "+age(tb)+" >= $1", cutoff)
		if old[tb.Name] == 0 || young[tb.Name] == 0 {
			t.Fatalf("%s: %d old and %d young rows; the test needs both", tb.Name, old[tb.Name], young[tb.Name])
		}
		want += old[tb.Name]
	}

	n, err := DeleteOlderThan(ctx, conn, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Errorf("DeleteOlderThan reported %d rows, want %d", n, want)
	}
	for _, tb := range tables.STL() {
		if got := count(t, conn, "SELECT count(*) FROM "+tb.Name); got != young[tb.Name] {
			t.Errorf("%s keeps %d rows, want the %d not older than the cutoff", tb.Name, got, young[tb.Name])
		}
		if got := count(t, conn, "SELECT count(*) "+age(tb)+" < $1", cutoff); got != 0 {
			t.Errorf("%s keeps %d old rows", tb.Name, got)
		}
	}
	if n := count(t, conn, "SELECT count(*) FROM sim_statement s WHERE NOT EXISTS (SELECT 1 FROM stl_query q WHERE q.query = s.query)"); n != 0 {
		t.Errorf("%d statements kept for deleted queries", n)
	}
	if n := count(t, conn, `SELECT count(*) FROM sim_statement_xid s WHERE s.starttime < $1 AND NOT EXISTS (
			SELECT 1 FROM stl_ddltext d WHERE (d.xid, d.pid, d.starttime) = (s.xid, s.pid, s.starttime)
			UNION ALL SELECT 1 FROM stl_utilitytext u WHERE (u.xid, u.pid, u.starttime) = (s.xid, s.pid, s.starttime))`, cutoff); n != 0 {
		t.Errorf("%d ddl or utility statements kept for deleted rows", n)
	}

	again, err := DeleteOlderThan(ctx, conn, cutoff)
	if err != nil || again != 0 {
		t.Errorf("a second delete removed %d rows (err %v)", again, err)
	}
}
