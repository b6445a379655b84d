package export

import (
	"context"
	"fmt"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/redshift"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// unplacedBucket is the bucket of the verification statement's row that counts the table's
// unplaced rows: those with a NULL time, and child rows without a parent row that has one. No
// window statement returns them, so neither the export nor a heal archives them; the pass counts
// them in the same statement, and status, health and the alert rule show them.
const unplacedBucket = -2

// unplacedSQL is the verification statement's branch that counts the unplaced rows, with the
// query group as $3 like the rest of the statement (see verifySQL).
func unplacedSQL(t tables.Table, parent *tables.Table) (string, error) {
	count, err := t.UnplacedSQL(parent, "$3")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("\nUNION ALL\nSELECT %d, (%s), 0, NULL", unplacedBucket, count), nil
}

// countUnplaced counts the unplaced rows alone, for a pass with no window to verify: one
// statement.
func (e *Exporter) countUnplaced(ctx context.Context, conn *redshift.Conn, t tables.Table, parent *tables.Table) (int64, error) {
	param, args := "$1", []any{e.cfg.QueryGroup}
	if !t.FiltersOwnQueries() {
		args = nil
	}
	sql, err := t.UnplacedSQL(parent, param)
	if err != nil {
		return 0, err
	}
	var n int64
	conn.CountQuery()
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		return 0, conn.Wrap("count unplaced "+t.Name, err)
	}
	return n, nil
}

// countUnplacedDue counts the unplaced rows of every table of the cluster when verification is
// off, so that no pass counts them: on the verify interval (default 1h, and at the first cycle of
// the process), one statement per table, kept in the state like a pass's count.
func (e *Exporter) countUnplacedDue(ctx context.Context, conn *redshift.Conn, memo *verifyMemo) {
	interval := e.cfg.Verify.Interval
	if interval <= 0 {
		interval = config.DefaultVerifyInterval
	}
	if time.Since(memo.lastPass) < interval {
		return
	}
	memo.lastPass = time.Now()
	cluster := conn.Cluster()
	for _, t := range e.targets[cluster] {
		tctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
		n, err := e.countUnplaced(tctx, conn, t, parentOf(t))
		if err == nil {
			now := time.Now().UTC()
			err = e.updateVerification(tctx, cluster, t.Name, func(p *state.Progress) { p.Unplaced.Record(n, now) })
		}
		cancel()
		switch {
		case err != nil:
			e.opts.Log.Error("count of rows no window holds failed", "cluster", cluster, "table", t.Name, "error", err)
		case n > 0:
			e.opts.Log.Warn("rows on the source that no window holds, not archived", "cluster", cluster, "table", t.Name, "rows", n)
		}
	}
}
