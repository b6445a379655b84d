package query_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
	"github.com/stlarchive/redshift-stl-archive/pkg/sim"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// archiveFixture is an archive the real exporter filled from two simulated clusters, and the
// service over it.
type archiveFixture struct {
	root     string
	clusters []*simtest.Cluster
	exp      *export.Exporter
	svc      *query.Service
	engine   *duckdb.Engine
	from, to time.Time
}

// fixture builds an archive: a few hours of history at a modest rate on two clusters, exported
// until every row is in the archive.
func fixture(t *testing.T) *archiveFixture {
	t.Helper()
	root := t.TempDir()
	tb := t
	a := simtest.New(tb, "east", 0.5)
	b := simtest.New(tb, "west-2", 0.5)
	var last time.Time
	for _, c := range []*simtest.Cluster{a, b} {
		last = c.History(tb, 3*time.Hour)
	}
	cfg := config.Defaults()
	cfg.Archive.Path = root
	cfg.State.Path = filepath.Join(root, ".state", "export.db")
	cfg.Export.Lag, cfg.Export.QueryGroup = simtest.Lag, simtest.QueryGroup
	cfg.Clusters = []config.Cluster{a.Cfg, b.Cfg}
	exp, err := export.Open(cfg, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(exp.Close)
	simtest.WaitPastLag(tb, a, last)
	simtest.WaitPastLag(tb, b, last)
	for _, r := range exp.Cycle(context.Background()) {
		if err := r.Failed(); err != nil {
			t.Fatalf("export: %v", err)
		}
	}
	engine, err := duckdb.Open(context.Background(), root, duckdb.Options{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	catalog, err := presets.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	svc := &query.Service{Engine: engine, Presets: catalog, Status: statusOf(exp)}
	to := time.Now().UTC().Truncate(time.Second).Add(time.Minute)
	return &archiveFixture{root: root, clusters: []*simtest.Cluster{a, b}, exp: exp, svc: svc, engine: engine,
		from: to.Add(-4 * time.Hour), to: to}
}

func statusOf(exp *export.Exporter) func(ctx context.Context) ([]query.StatusRow, error) {
	return func(ctx context.Context) ([]query.StatusRow, error) {
		st, err := export.Status(ctx, exp.Store(), time.Now())
		if err != nil {
			return nil, err
		}
		out := make([]query.StatusRow, len(st))
		for i, s := range st {
			out[i] = query.StatusRow{Cluster: s.Cluster, Table: s.Table, Watermark: s.Watermark,
				LagSeconds: s.LagSeconds, Rows: s.Rows, LastError: s.LastError, Gaps: len(s.Gaps)}
		}
		return out, nil
	}
}

// own leaves out the exporter's own statements, as the archive does.
const ownQuery = "NOT EXISTS (SELECT 1 FROM stl_query o WHERE o.query = t.query AND rtrim(o.label) = 'stlarchive')"

// notOwn is true for every row whose label is not the exporter's query group, NULL labels
// included, as the exporter's own filter (tables.NotOwn) decides.
func notOwn(label string) string {
	return "CASE WHEN rtrim(" + label + ") = 'stlarchive' THEN false ELSE true END"
}

// referenceCase is one preset and the same computation done directly on each cluster's
// PostgreSQL. The reference SQL takes the time range as $1 and $2 and returns the key columns,
// then the value columns (compared as numbers) and text columns (compared as text, Redshift's
// escapes undone); the cluster key is added per database.
type referenceCase struct {
	preset string
	sql    string
	keys   []string // key columns besides cluster (time first when there is one)
	values []string
	texts  []string
	tol    float64 // relative tolerance of values; 0 is exact
}

func referenceCases() []referenceCase {
	const bucket = "date_bin('600 seconds', %s, TIMESTAMP '2000-01-03')"
	reassemble := func(table string) string {
		return fmt.Sprintf(`(SELECT rtrim(s.text) FROM sim_statement_xid s WHERE s.tablename = '%s' AND s.xid = t.xid AND s.pid = t.pid AND s.starttime = t.starttime)`, table)
	}
	return []referenceCase{
		{preset: "query_volume", keys: []string{"time"}, values: []string{"queries"},
			sql: `SELECT ` + fmt.Sprintf(bucket, "endtime") + ` AS time, count(*) AS queries FROM stl_query
				WHERE ` + notOwn("label") + ` AND endtime BETWEEN $1 AND $2 GROUP BY 1`},
		{preset: "query_duration", keys: []string{"time"}, values: []string{"p50_seconds", "p95_seconds"}, tol: 1e-9,
			sql: `SELECT ` + fmt.Sprintf(bucket, "endtime") + ` AS time,
				percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM endtime - starttime))::float8 AS p50_seconds,
				percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM endtime - starttime))::float8 AS p95_seconds
				FROM stl_query WHERE ` + notOwn("label") + ` AND endtime BETWEEN $1 AND $2 GROUP BY 1`},
		{preset: "top_queries", keys: []string{"query"}, values: []string{"executions", "total_seconds", "avg_seconds", "max_seconds", "alerts"},
			texts: []string{"sql"}, tol: 1e-9,
			// Per cluster: the 50 statements of the whole archive's top 50 are among each
			// cluster's own top 50, so the reference keeps each cluster's top 50 and the
			// comparison looks only at the keys the preset returned.
			sql: `WITH a AS (SELECT query, count(*) AS n FROM stl_alert_event_log t WHERE ` + ownQuery + ` AND event_time BETWEEN $1 AND $2 GROUP BY query),
				g AS (SELECT q.querytxt, count(*) AS executions, sum(extract(epoch FROM q.endtime - q.starttime))::float8 AS total_seconds,
					avg(extract(epoch FROM q.endtime - q.starttime))::float8 AS avg_seconds, max(extract(epoch FROM q.endtime - q.starttime))::float8 AS max_seconds,
					max(q.query) AS query, coalesce(sum(a.n), 0)::float8 AS alerts
					FROM stl_query q LEFT JOIN a ON a.query = q.query
					WHERE ` + notOwn("q.label") + ` AND q.endtime BETWEEN $1 AND $2 GROUP BY q.querytxt)
				SELECT g.query::text AS query, executions, total_seconds, avg_seconds, max_seconds, alerts, rtrim(s.text) AS sql
				FROM g JOIN sim_statement s ON s.query = g.query ORDER BY total_seconds DESC LIMIT 50`},
		{preset: "alert_events", keys: []string{"time", "event"}, values: []string{"events"},
			sql: `SELECT ` + fmt.Sprintf(bucket, "event_time") + ` AS time, trim(split_part(event, ':', 1)) AS event, count(*) AS events
				FROM stl_alert_event_log t WHERE ` + ownQuery + ` AND event_time BETWEEN $1 AND $2 GROUP BY 1, 2`},
		{preset: "missing_stats", keys: []string{"table_name"}, values: []string{"queries", "last_seen_epoch"},
			sql: `WITH n AS (SELECT e.query, q.endtime, trim(unnest(string_to_array((regexp_match(e.plannode, 'Tables missing statistics:\s*(.*?)\s*-+\s*$'))[1], ','))) AS table_name
					FROM stl_explain e JOIN stl_query q ON q.query = e.query
					WHERE e.plannode LIKE '%missing statistics%' AND ` + notOwn("q.label") + ` AND q.endtime BETWEEN $1 AND $2)
				SELECT table_name, count(DISTINCT query) AS queries, extract(epoch FROM max(endtime))::float8 AS last_seen_epoch
				FROM n WHERE table_name <> '' GROUP BY 1`},
		{preset: "wlm_queue_wait", keys: []string{"time", "service_class"}, values: []string{"queue_seconds", "exec_seconds"}, tol: 1e-12,
			sql: `SELECT ` + fmt.Sprintf(bucket, "service_class_end_time") + ` AS time, service_class::text AS service_class,
				(sum(total_queue_time) / 1e6)::float8 AS queue_seconds, (sum(total_exec_time) / 1e6)::float8 AS exec_seconds
				FROM stl_wlm_query t WHERE ` + ownQuery + ` AND service_class_end_time BETWEEN $1 AND $2 GROUP BY 1, 2`},
		{preset: "scan_volume", keys: []string{"table_name"}, values: []string{"rows", "bytes", "queries"},
			sql: `SELECT rtrim(perm_table_name) AS table_name, sum(rows)::float8 AS rows, sum(bytes)::float8 AS bytes, count(DISTINCT query) AS queries
				FROM stl_scan t WHERE ` + ownQuery + ` AND endtime BETWEEN $1 AND $2 AND perm_table_name <> '' GROUP BY 1`},
		{preset: "nested_loops", keys: []string{"query"}, values: []string{"alerts", "seconds"}, texts: []string{"sql"}, tol: 1e-9,
			sql: `WITH a AS (SELECT query, count(*) AS alerts FROM stl_alert_event_log t WHERE ` + ownQuery + ` AND event_time BETWEEN $1 AND $2
					AND trim(split_part(event, ':', 1)) = 'Nested Loop Join in the query plan' GROUP BY query)
				SELECT a.query::text AS query, a.alerts, extract(epoch FROM q.endtime - q.starttime)::float8 AS seconds, rtrim(s.text) AS sql
				FROM a LEFT JOIN stl_query q ON q.query = a.query LEFT JOIN sim_statement s ON s.query = a.query`},
		{preset: "ddl_audit", keys: []string{"xid", "pid", "starttime"}, texts: []string{"sql"},
			sql: `SELECT DISTINCT xid::text AS xid, pid::text AS pid, starttime, ` + reassemble("stl_ddltext") + ` AS sql
				FROM stl_ddltext t WHERE ` + notOwn("label") + ` AND endtime BETWEEN $1 AND $2`},
		{preset: "utility_audit", keys: []string{"xid", "pid", "starttime"}, texts: []string{"sql"},
			sql: `SELECT DISTINCT xid::text AS xid, pid::text AS pid, starttime, ` + reassemble("stl_utilitytext") + ` AS sql
				FROM stl_utilitytext t WHERE ` + notOwn("label") + ` AND endtime BETWEEN $1 AND $2`},
		{preset: "ddl_annotations", keys: []string{"time", "timeEnd"},
			sql: `SELECT DISTINCT starttime AS time, endtime AS "timeEnd" FROM stl_ddltext WHERE ` + notOwn("label") + ` AND endtime BETWEEN $1 AND $2`},
		{preset: "alert_annotations", keys: []string{"time"},
			sql: `SELECT min(event_time) AS time FROM stl_alert_event_log t WHERE ` + ownQuery + ` AND event_time BETWEEN $1 AND $2
				GROUP BY query, trim(split_part(event, ':', 1))`},
		{preset: "var_databases", keys: []string{"database"},
			sql: `SELECT DISTINCT rtrim(database) AS database FROM stl_query WHERE ` + notOwn("label") + ` AND endtime BETWEEN $1 AND $2`},
		{preset: "var_users", keys: []string{"userid"},
			sql: `SELECT DISTINCT userid::text AS userid FROM stl_query WHERE ` + notOwn("label") + ` AND endtime BETWEEN $1 AND $2`},
		{preset: "var_tables", keys: []string{"table_name"},
			sql: `SELECT DISTINCT rtrim(perm_table_name) AS table_name FROM stl_scan t WHERE ` + ownQuery + ` AND endtime BETWEEN $1 AND $2 AND perm_table_name <> ''`},
		{preset: "var_service_classes", keys: []string{"service_class"},
			sql: `SELECT DISTINCT service_class::text AS service_class FROM stl_wlm_query t WHERE ` + ownQuery + ` AND service_class_end_time BETWEEN $1 AND $2`},
	}
}

// TestArchiveOfTwoSimulatedClusters builds one archive (it takes a while) and checks the
// presets over it.
func TestArchiveOfTwoSimulatedClusters(t *testing.T) {
	f := fixture(t)
	t.Run("PresetsAnswerLikeTheSameComputationOnTheSource", func(t *testing.T) { presetsAnswerLikeTheSource(t, f) })
	t.Run("VarClustersListsTheArchivedClusters", func(t *testing.T) { varClustersListsTheArchivedClusters(t, f) })
	t.Run("ExportHealthPresetReadsTheStateStore", func(t *testing.T) { exportHealthReadsTheStateStore(t, f) })
}

func presetsAnswerLikeTheSource(t *testing.T, f *archiveFixture) {
	ctx := context.Background()
	for _, rc := range referenceCases() {
		t.Run(rc.preset, func(t *testing.T) {
			ans, err := f.svc.Run(ctx, query.Request{Model: query.Model{Preset: rc.preset}, From: f.from, To: f.to, Interval: 10 * time.Minute})
			if err != nil {
				t.Fatalf("preset: %v", err)
			}
			got := frameRows(t, ans.Frames[0], rc)
			want := map[string]row{}
			for _, c := range f.clusters {
				for k, r := range referenceRows(t, c, rc, f.from, f.to, keyedByCluster(rc.preset)) {
					if strings.HasPrefix(rc.preset, "var_") {
						want[k] = r // a variable lists each value once, whichever clusters have it
					} else {
						want[unique(want, k)] = r
					}
				}
			}
			if len(want) == 0 {
				t.Fatal("the reference has no rows: the comparison would prove nothing")
			}
			if rc.preset == "top_queries" {
				// Only the archive's top 50 across both clusters; each is in its cluster's top 50.
				for k := range got {
					if _, ok := want[k]; !ok {
						t.Errorf("top query %s is not in its cluster's reference top 50", k)
					}
				}
				for k := range want {
					if _, ok := got[k]; !ok {
						delete(want, k)
					}
				}
				if len(got) != 50 {
					t.Errorf("top_queries returned %d rows, want 50", len(got))
				}
			}
			compareRows(t, got, want, rc)
			t.Logf("%s: %d rows equal", rc.preset, len(got))
		})
	}
}

func varClustersListsTheArchivedClusters(t *testing.T, f *archiveFixture) {
	ans, err := f.svc.Run(context.Background(), query.Request{Model: query.Model{Preset: "var_clusters"}, From: f.from, To: f.to})
	if err != nil {
		t.Fatal(err)
	}
	got := ans.Frames[0].Fields[0]
	var names []string
	for i := range got.Len() {
		names = append(names, fmt.Sprint(got.At(i)))
	}
	if strings.Join(names, ",") != "east,west-2" {
		t.Errorf("var_clusters = %v, want east, west-2", names)
	}
}

func exportHealthReadsTheStateStore(t *testing.T, f *archiveFixture) {
	ans, err := f.svc.Run(context.Background(), query.Request{Model: query.Model{Preset: "export_health"}, From: f.from, To: f.to})
	if err != nil {
		t.Fatal(err)
	}
	fr := ans.Frames[0]
	if n, _ := fr.RowLen(); n != 2*len(tables.Names()) {
		t.Errorf("export_health has %d rows, want one per cluster and table (%d)", n, 2*len(tables.Names()))
	}
	rowsField, _ := fr.FieldByName("rows")
	var total int64
	for i := range rowsField.Len() {
		total += rowsField.At(i).(int64)
	}
	var want int64
	for _, c := range f.clusters {
		for _, tb := range tables.Names() {
			p, err := f.exp.Store().Get(context.Background(), c.Cfg.Name, tb)
			if err != nil {
				t.Fatal(err)
			}
			want += p.Rows
		}
	}
	if total != want || total == 0 {
		t.Errorf("export_health counts %d rows, the store %d", total, want)
	}
	if ans.SQL != "" {
		t.Errorf("export_health ran SQL: %s", ans.SQL)
	}
}

// keyedByCluster says whether a preset's rows carry a cluster column; annotations and variables
// do not.
func keyedByCluster(preset string) bool {
	return !strings.HasPrefix(preset, "var_") && !strings.HasSuffix(preset, "_annotations")
}

// row is one keyed row: numbers and texts by column.
type row struct {
	values map[string]float64
	texts  map[string]string
}

func keyOf(parts []string) string { return strings.Join(parts, " | ") }

// frameRows reads a frame as keyed rows; a wide time series is made long first.
func frameRows(t *testing.T, fr *data.Frame, rc referenceCase) map[string]row {
	t.Helper()
	if fr.TimeSeriesSchema().Type == data.TimeSeriesTypeWide {
		// The metric label repeats each field's name (it tells series apart for alerting);
		// without it the value columns of one key become one long row again.
		for _, f := range fr.Fields {
			if f.Labels[query.MetricLabel] == f.Name {
				delete(f.Labels, query.MetricLabel)
			}
		}
		long, err := data.WideToLong(fr)
		if err != nil {
			t.Fatal(err)
		}
		fr = long
	}
	keys := rc.keys
	if keyedByCluster(rc.preset) {
		keys = append([]string{"cluster"}, keys...)
	}
	n, _ := fr.RowLen()
	out := map[string]row{}
	for i := range n {
		parts := make([]string, len(keys))
		for j, k := range keys {
			fld, idx := fr.FieldByName(k)
			if idx < 0 {
				t.Fatalf("frame has no column %q: %v", k, fieldNames(fr))
			}
			parts[j] = keyText(fld.At(i))
		}
		r := row{values: map[string]float64{}, texts: map[string]string{}}
		for _, v := range rc.values {
			name := v
			if v == "last_seen_epoch" {
				name = "last_seen"
			}
			fld, idx := fr.FieldByName(name)
			if idx < 0 {
				t.Fatalf("frame has no column %q: %v", name, fieldNames(fr))
			}
			if x, ok := number(fld.At(i)); ok {
				r.values[v] = x
			}
		}
		for _, c := range rc.texts {
			fld, _ := fr.FieldByName(c)
			r.texts[c] = keyText(fld.At(i))
		}
		k := keyOf(parts)
		if len(r.values) == 0 && len(rc.values) > 0 {
			continue // a gap of a wide series made long
		}
		out[unique(out, k)] = r
	}
	return out
}

func referenceRows(t *testing.T, c *simtest.Cluster, rc referenceCase, from, to time.Time, withCluster bool) map[string]row {
	t.Helper()
	rows, err := c.Conn.Query(context.Background(), rc.sql, from, to)
	if err != nil {
		t.Fatalf("reference on %s: %v", c.Cfg.Name, err)
	}
	defer rows.Close()
	out := map[string]row{}
	cols := rows.FieldDescriptions()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]any{}
		for i, fd := range cols {
			byName[fd.Name] = vals[i]
		}
		var parts []string
		if withCluster {
			parts = append(parts, c.Cfg.Name)
		}
		for _, k := range rc.keys {
			parts = append(parts, keyText(byName[k]))
		}
		r := row{values: map[string]float64{}, texts: map[string]string{}}
		for _, v := range rc.values {
			if x, ok := number(byName[v]); ok {
				r.values[v] = x
			}
		}
		for _, tc := range rc.texts {
			if s, ok := byName[tc].(string); ok {
				r.texts[tc] = sim.Unescape(s)
			} else {
				r.texts[tc] = "NULL" // a query whose alerts came before its stl_query row
			}
		}
		k := keyOf(parts)
		out[unique(out, k)] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func compareRows(t *testing.T, got, want map[string]row, rc referenceCase) {
	t.Helper()
	var missing, extra []string
	for k := range want {
		if _, ok := got[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("%d rows missing from the preset (first %v), %d rows it should not have (first %v); want %d rows",
			len(missing), first(missing), len(extra), first(extra), len(want))
	}
	bad := 0
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			continue
		}
		for name, wv := range w.values {
			gv, ok := g.values[name]
			if !ok || !close(gv, wv, rc.tol) {
				if bad++; bad <= 5 {
					t.Errorf("%s %s: preset %v, source %v", k, name, gv, wv)
				}
			}
		}
		for name, wt := range w.texts {
			if g.texts[name] != wt {
				if bad++; bad <= 5 {
					t.Errorf("%s %s differs:\npreset %q\nsource %q", k, name, g.texts[name], wt)
				}
			}
		}
	}
}

// unique numbers repeated keys (#2, #3, …) so that both sides compare as multisets.
func unique(m map[string]row, k string) string {
	if _, dup := m[k]; !dup {
		return k
	}
	for n := 2; ; n++ {
		if _, dup := m[fmt.Sprintf("%s #%d", k, n)]; !dup {
			return fmt.Sprintf("%s #%d", k, n)
		}
	}
}

func first(s []string) []string { return s[:min(3, len(s))] }

func close(a, b, tol float64) bool {
	if tol == 0 {
		return a == b
	}
	return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case *int64:
		if x != nil {
			return float64(*x), true
		}
	case float64:
		return x, true
	case *float64:
		if x != nil {
			return *x, true
		}
	case int32:
		return float64(x), true
	case time.Time:
		return float64(x.UnixMicro()) / 1e6, true
	case *time.Time:
		if x != nil {
			return float64(x.UnixMicro()) / 1e6, true
		}
	}
	return 0, false
}

func keyText(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *time.Time:
		if x == nil {
			return "NULL"
		}
		return x.UTC().Format(time.RFC3339Nano)
	case *string:
		if x == nil {
			return "NULL"
		}
		return *x
	case *int64:
		if x == nil {
			return "NULL"
		}
		return fmt.Sprint(*x)
	}
	return fmt.Sprint(v)
}

func fieldNames(fr *data.Frame) []string {
	var out []string
	for _, f := range fr.Fields {
		out = append(out, f.Name)
	}
	return out
}
