package sim

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// Tables a step writes, in the order of one transaction: parents before children.
const (
	tQuery = iota
	tQueryText
	tExplain
	tScan
	tWLM
	tAlert
	tDDL
	tUtility
	tStatement
	tStatementXid
	numTables
)

var tableNames = [numTables]string{
	"stl_query", "stl_querytext", "stl_explain", "stl_scan", "stl_wlm_query",
	"stl_alert_event_log", "stl_ddltext", "stl_utilitytext", statementTable, statementXidTable,
}

func tableColumns(i int) []string {
	switch i {
	case tStatement:
		return []string{"query", "text"}
	case tStatementXid:
		return []string{"tablename", "xid", "pid", "starttime", "text"}
	}
	t, _ := tables.Lookup(tableNames[i])
	cols := make([]string, len(t.Columns))
	for j, c := range t.Columns {
		cols[j] = c.Name
	}
	return cols
}

// pendingRow is a generated row that becomes visible at its arrival (µs since the Unix epoch).
type pendingRow struct {
	arrival int64
	table   int
	late    bool
	values  []any
}

// batch is what one step writes.
type batch struct {
	rows  [numTables][][]any
	stats Stats
}

func newBatch() *batch { return &batch{stats: Stats{Rows: map[string]int64{}}} }

func (b *batch) add(p pendingRow) {
	b.rows[p.table] = append(b.rows[p.table], p.values)
	if p.table < tStatement {
		b.stats.Rows[tableNames[p.table]]++
		if p.late {
			b.stats.Late++
		}
	}
}

func (b *batch) write(ctx context.Context, conn *pgx.Conn) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for i, rows := range b.rows {
		if len(rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{tableNames[i]}, tableColumns(i), pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy into %s: %w", tableNames[i], err)
		}
	}
	return tx.Commit(ctx)
}

// exporterReads are the statements the exporter sends, one per STL table.
func exporterReads() (sqls, names []string) {
	for _, t := range tables.STL() {
		var parent *tables.Table
		if t.Parent != "" {
			p, _ := tables.Lookup(t.Parent)
			parent = &p
		}
		s, err := t.WindowSQL(parent)
		if err != nil {
			continue
		}
		sqls = append(sqls, s)
		names = append(names, t.Name)
	}
	return sqls, names
}

// Kinds of activity, drawn per second of start time.
const (
	evQuery = iota
	evDDL
	evUtility
)

type event struct {
	start int64
	kind  int
	i     int
}

const second = int64(time.Second / time.Microsecond)

// generate emits the activity that starts in (f, t]. Each second of start time draws from its
// own random stream, so the activity does not depend on how time is cut into steps.
func (w *Workload) generate(f, t int64, sink func(pendingRow)) error {
	if w.opt.Rate <= 0 {
		return nil
	}
	var evs []event
	for b := floorDiv(f, second); b*second <= t; b++ {
		if (b+1)*second-1 <= f {
			continue
		}
		r := rand.New(rand.NewPCG(mix(w.opt.Seed, uint64(b)), 0x5354))
		lam := w.opt.Rate * diurnal(b)
		nq, nd, nu := poisson(r, lam), poisson(r, lam*w.opt.DDLPerQuery), poisson(r, lam*w.opt.UtilityPerQuery)
		evs = evs[:0]
		for kind, n := range []int{nq, nd, nu} {
			for i := range n {
				evs = append(evs, event{start: b*second + r.Int64N(second), kind: kind, i: i})
			}
		}
		slices.SortFunc(evs, func(x, y event) int {
			return cmp.Or(cmp.Compare(x.start, y.start), cmp.Compare(x.kind, y.kind), cmp.Compare(x.i, y.i))
		})
		for _, ev := range evs {
			if ev.start <= f || ev.start > t {
				continue
			}
			er := rand.New(rand.NewPCG(mix(w.opt.Seed^uint64(ev.kind+1)<<56, uint64(b)), uint64(ev.i)))
			var err error
			switch ev.kind {
			case evQuery:
				err = w.query(er, ev.start, sink)
			case evDDL:
				w.textStatement(er, ev.start, tDDL, sink)
			case evUtility:
				w.textStatement(er, ev.start, tUtility, sink)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// query emits one query: its stl_query, stl_querytext and stl_explain rows (which arrive
// together), its stl_scan, stl_wlm_query and stl_alert_event_log rows (each by its own time),
// and its ground truth.
func (w *Workload) query(r *rand.Rand, start int64, sink func(pendingRow)) error {
	if w.nextQuery > math.MaxInt32 {
		return fmt.Errorf("query ids exhausted at %d", w.nextQuery)
	}
	id := int32(w.nextQuery)
	w.nextQuery++
	xid := w.nextXid
	w.nextXid++
	at := time.UnixMicro(start).UTC()
	g := newTextGen(r)

	o := w.opt
	var (
		userid int32
		label  = "default"
		db     = pick(r, []string{"dev", "dev", "analytics", "analytics", "sales_dm"})
		st     statement
		own    bool
		user   bool
		// odd, when set, is the label stl_query shows instead of label (which still picks the
		// WLM queue): oddLabel's value, NULL included.
		odd      bool
		oddValue any
	)
	switch u := r.Float64(); {
	case u < o.SystemShare:
		userid, db, st = 1, "dev", g.systemQuery()
	case u < o.SystemShare+o.OwnShare:
		userid, label, db, own = 100, o.QueryGroup, "dev", true
		st = g.ownQuery(w.windowSQL, w.windowName)
	default:
		userid, user = 101+r.Int32N(10), true
		label = pick(r, []string{"default", "default", "default", "default", "default", "default", "dashboard", "dashboard", "etl_nightly", "adhoc", "Grafana 🚀"})
		if r.Float64() < o.OddLabelShare {
			odd, oddValue = true, oddLabel(r, o.QueryGroup)
		}
		if r.Float64() < o.LongTextShare {
			st = g.longQuery()
		} else {
			st = g.query(at)
		}
	}
	logged := escape(st.text)
	if user && r.Float64() < o.SpecialShare {
		logged = g.special(logged)
	}
	pid := int32(10000 + int(userid%100)*317 + r.IntN(12))

	// Times, in µs: planning, queue wait, execution, returning rows. WLM times nest inside the
	// query's start and end.
	planning := 1000 + r.Int64N(20000)
	var queue, exec int64
	if !own && r.IntN(10) < 3 {
		queue = clamp(lognormal(r, 200_000, 1.5), 1000, 600*second)
	}
	switch {
	case own:
		exec = clamp(lognormal(r, 50_000, 0.8), 2000, second)
	case user && r.Float64() < o.LongShare:
		exec = clamp(lognormal(r, 240e6, 0.8), 60*second, o.LongMax.Microseconds())
	default:
		exec = clamp(lognormal(r, 300_000, 1.3), 2000, 50*second)
	}
	scStart := start + planning
	queueEnd := scStart + queue
	execEnd := queueEnd + exec
	end := execEnd + r.Int64N(3000)
	aborted := int32(0)
	if user && r.IntN(100) == 0 {
		aborted = 1
	}

	// stl_query and its children arrive together.
	arrival, late := w.lateness(r, end)
	css := int32(0)
	if label == "dashboard" && r.IntN(20) == 0 {
		css = 1
	}
	var logLabel any = label
	if odd {
		logLabel = oddValue
	}
	sink(pendingRow{arrival, tQuery, late, []any{userid, id, logLabel, xid, pid, db, truncate(logged, querytxtSize),
		ts(start), ts(end), aborted, int32(0), css}})
	for seq, c := range chunk(logged, chunkSize) {
		sink(pendingRow{arrival, tQueryText, late, []any{userid, xid, pid, id, int32(seq), c}})
	}
	sink(pendingRow{arrival, tStatement, late, []any{id, logged}})

	var missing []string
	for _, name := range st.shape.tables {
		t := tableByName(name)
		if !own && ((!t.stats && r.IntN(20) < 7) || (t.stats && r.IntN(100) == 0)) {
			missing = append(missing, name)
		}
	}
	for _, n := range plan(r, st.shape, missing) {
		sink(pendingRow{arrival, tExplain, late, []any{userid, id, n.id, n.parent, n.node, n.info}})
	}

	q := queryFacts{id: id, userid: userid, xid: xid, pid: pid, execStart: queueEnd, execEnd: execEnd}
	w.scansAndAlerts(r, q, st.shape, missing, sink)

	// stl_wlm_query: one row per query, arriving by service_class_end_time.
	class, slots, name, priority := wlmClass(r, userid, label, exec)
	state := "Completed"
	if aborted == 1 {
		state = "Evicted"
	}
	wa, wl := w.lateness(r, execEnd)
	sink(pendingRow{wa, tWLM, wl, []any{userid, xid, id, id, class, slots,
		ts(scStart), ts(scStart), ts(queueEnd), queueEnd - scStart,
		ts(queueEnd), ts(execEnd), execEnd - queueEnd, ts(execEnd),
		state, clamp(lognormal(r, 50_000_000, 2), 1_000_000, 50_000_000_000), priority, name}})
	return nil
}

// queryFacts are what a query's scans and alerts need to know of it.
type queryFacts struct {
	id, userid, pid    int32
	xid                int64
	execStart, execEnd int64
}

// scansAndAlerts emits a query's stl_scan rows (per table read, per slice) and the alerts its
// plan and scans raise.
func (w *Workload) scansAndAlerts(r *rand.Rand, q queryFacts, sh shape, missing []string, sink func(pendingRow)) {
	nslices := int32(w.opt.Slices)
	exec := q.execEnd - q.execStart
	type alert struct {
		kind          alertKind
		detail        string
		segment, step int32
	}
	var alerts []alert
	if len(missing) > 0 {
		alerts = append(alerts, alert{alertMissingStats, "tables " + strings.Join(missing, ", "), 0, 0})
	}
	for k, name := range sh.tables {
		t := tableByName(name)
		segment := int32(k)
		scanType, perm, tbl := int32(2), name, t.id
		if sh.kind == "copy" {
			scanType, perm = 21, "S3"
		}
		segStart := q.execStart + int64(float64(exec)*0.1*float64(k)*r.Float64())
		segLen := max(1, int64(float64(q.execEnd-segStart)*(0.3+0.7*r.Float64())))
		selectivity := 1.0
		if sh.filter != "" && k == 0 {
			selectivity = math.Pow(10, -4*r.Float64())
		}
		// Zone maps let short queries read a sliver of a big table; only long ones read it all.
		readShare := min(1, float64(exec)/float64(30*second)*(0.5+r.Float64()))
		deleted := 0.02 * r.Float64()
		if r.IntN(50) == 0 {
			deleted = 0.3 + 0.5*r.Float64()
		}
		var total, preUser int64
		for s := range nslices {
			perSlice := max(1, int64(float64(t.rows/int64(nslices))*readShare))
			if sh.kind == "own" {
				perSlice = 1 + r.Int64N(20000)
			}
			preFilter := int64(float64(perSlice) * (0.9 + 0.2*r.Float64()))
			pu := int64(float64(preFilter) * (1 - deleted))
			rows := int64(float64(pu) * selectivity)
			total += rows
			preUser += pu
			sStart := segStart + r.Int64N(max(1, segLen/20))
			sEnd := min(q.execEnd, sStart+segLen-r.Int64N(max(1, segLen/10)))
			sEnd = max(sEnd, sStart)
			rr := "f"
			if selectivity < 0.05 {
				rr = "t"
			}
			arrival, late := w.lateness(r, sEnd)
			sink(pendingRow{arrival, tScan, late, []any{
				q.userid, q.id, s, segment, int32(0), ts(sStart), ts(sEnd), s, rows,
				preFilter * int64(t.width), max(1, preFilter*int64(t.width)>>20), scanType, tbl,
				rr, "f", preFilter, pu, perm, "f", int32(0), r.Int32N(5000), r.Int64(),
				flag(r.IntN(3) == 0), int32(0), int32(r.IntN(2)), int32(0), int64(r.IntN(64)), int64(0),
				"t", int32(0), int64(0), int64(0x3f2a), "f", "f", "f"}})
		}
		if selectivity < 0.001 {
			alerts = append(alerts, alert{alertSelective,
				fmt.Sprintf("ratio=rows(%d)/rows_pre_user_filter(%d)=%.6f", total, preUser, float64(total)/float64(max(1, preUser))), segment, 0})
		}
		if deleted > 0.3 {
			alerts = append(alerts, alert{alertDeleted,
				fmt.Sprintf("rows_pre_filter=%d rows_pre_user_filter=%d on %s", int64(float64(preUser)/(1-deleted)), preUser, name), segment, 0})
		}
	}
	joinSeg := int32(len(sh.tables))
	switch {
	case sh.join == "":
	case sh.join == "Nested Loop DS_BCAST_INNER":
		alerts = append(alerts, alert{alertNestedLoop, "join without an equality predicate on " + sh.joinKey, joinSeg, 2})
	case strings.HasSuffix(sh.join, "DS_BCAST_INNER") && r.IntN(5) < 2:
		alerts = append(alerts, alert{alertBroadcast, fmt.Sprintf("rows=%d", 1_000_000+r.Int64N(100_000_000)), joinSeg, 2})
	case (sh.join == "Hash Join DS_DIST_INNER" || sh.join == "Hash Join DS_DIST_BOTH") && r.IntN(5) < 2:
		alerts = append(alerts, alert{alertDistributed, fmt.Sprintf("rows=%d", 1_000_000+r.Int64N(100_000_000)), joinSeg, 2})
	}
	for _, a := range alerts {
		at := q.execStart + r.Int64N(max(1, exec))
		for s := range nslices {
			arrival, late := w.lateness(r, at)
			sink(pendingRow{arrival, tAlert, late, []any{q.userid, q.id, s, a.segment, a.step, q.pid, q.xid,
				a.kind.name + ": " + a.detail, a.kind.solution, ts(at)}})
		}
	}
}

// textStatement emits one statement of stl_ddltext or stl_utilitytext: its chunks share
// starttime and endtime and arrive together.
func (w *Workload) textStatement(r *rand.Rand, start int64, table int, sink func(pendingRow)) {
	xid := w.nextXid
	w.nextXid++
	g := newTextGen(r)
	o := w.opt
	userid := 101 + r.Int32N(10)
	var label any = ""
	if r.IntN(5) == 0 {
		label = pick(r, []string{"etl_nightly", "dashboard", "adhoc"})
	}
	if r.Float64() < o.OddLabelShare {
		label = oddLabel(r, o.QueryGroup)
	}
	var text string
	special := true
	switch {
	case table == tDDL:
		text = g.ddl(time.UnixMicro(start).UTC())
	case o.QueryGroup != "" && r.Float64() < min(0.5, o.OwnShare*10):
		// The exporter tags its session, then works under its query group.
		userid, special = 100, false
		if r.IntN(2) == 0 {
			text = "SET query_group TO '" + o.QueryGroup + "'"
		} else {
			text, label = "SET statement_timeout TO 600000", o.QueryGroup
		}
	case r.Float64() < o.SystemShare:
		userid, label = 1, ""
		text = "ANALYZE " + pick(r, []string{"sales", "event", "orders", "web_clicks"}) + " PREDICATE COLUMNS;"
	default:
		text = g.utility()
	}
	logged := escape(text)
	if special && r.Float64() < o.SpecialShare {
		logged = g.special(logged)
	}
	pid := int32(10000 + int(userid%100)*317 + r.IntN(12))
	end := start + clamp(lognormal(r, 20_000, 1.5), 500, 120*second)
	arrival, late := w.lateness(r, end)
	for seq, c := range chunk(logged, chunkSize) {
		sink(pendingRow{arrival, table, late, []any{userid, xid, pid, label, ts(start), ts(end), int32(seq), c}})
	}
	sink(pendingRow{arrival, tStatementXid, late, []any{tableNames[table], xid, pid, ts(start), logged}})
}

// lateness draws a row's arrival for its time t: on time, or a share LateShare of the rows up
// to MaxLateness later.
func (w *Workload) lateness(r *rand.Rand, t int64) (int64, bool) {
	maxLate := w.opt.MaxLateness.Microseconds()
	if maxLate > 0 && r.Float64() < w.opt.LateShare {
		return t + 1 + r.Int64N(maxLate), true
	}
	return t, false
}

// wlmClass picks the WLM queue of a query: system queries in a system class, short queries
// often in short query acceleration, the rest in manual queues (6-8) or automatic WLM (100+).
func wlmClass(r *rand.Rand, userid int32, label string, exec int64) (class, slots int32, name, priority string) {
	if userid == 1 {
		return 4, 1, "System", "n/a"
	}
	if exec < second && r.IntN(4) == 0 {
		return 14, 1, "Short query queue", "n/a"
	}
	if r.IntN(2) == 0 {
		switch label {
		case "etl_nightly":
			return 6, 1 + r.Int32N(3), "etl", "n/a"
		case "dashboard":
			return 7, 1, "dashboard", "n/a"
		}
		return 8, 1, "Default queue", "n/a"
	}
	prio := pick(r, []string{"normal", "normal", "normal", "high", "low", "highest", "lowest"})
	switch label {
	case "etl_nightly":
		return 101, 1, "etl", prio
	case "dashboard":
		return 102, 1, "dashboard", prio
	}
	return 100, 1, "Default queue", prio
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// oddLabel is a label that belongs to someone else but trips careless filters: NULL (nil), blank,
// blank-padded, non-ASCII, or the exporter's query group with something before or after it.
// Redshift stores label as character(320), so trailing blanks vanish on the source.
func oddLabel(r *rand.Rand, group string) any {
	switch n := r.IntN(10); {
	case n < 3:
		return nil
	case n == 3:
		return ""
	case n == 4:
		return "   "
	case n == 5:
		return "etl_nightly   "
	case n == 6:
		return "rapport_été ⏱"
	case group == "":
		return "adhoc"
	case n == 7:
		return group + "2"
	case n == 8:
		return " " + group
	default:
		return strings.ToUpper(group)
	}
}

func flag(b bool) string {
	if b {
		return "t"
	}
	return "f"
}

func ts(us int64) time.Time { return time.UnixMicro(us).UTC() }

func clamp(v, lo, hi int64) int64 { return min(max(v, lo), hi) }

// lognormal draws around a median with spread sigma (in natural log units).
func lognormal(r *rand.Rand, median float64, sigma float64) int64 {
	return int64(median * math.Exp(sigma*r.NormFloat64()))
}

// poisson draws a count with mean lambda.
func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 50 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// diurnal is the daily curve of the query rate: mean 1, quiet around 03:00 UTC, busiest
// around 15:00 UTC.
func diurnal(sec int64) float64 {
	h := float64(((sec%86400)+86400)%86400) / 3600
	return 1 + 0.5*math.Sin(2*math.Pi*(h-9)/24)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// mix spreads a seed and a counter over 64 bits (splitmix64), so that neighbouring seconds get
// unrelated random streams.
func mix(seed, n uint64) uint64 {
	z := seed ^ (n+0x9e3779b97f4a7c15)*0xbf58476d1ce4e5b9
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
