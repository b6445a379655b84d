package athena_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
	"github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/athena"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
)

// fastPolls keeps the tests quick: the fake moves one state per poll, whatever the wait.
func fastPolls(o athena.Options) athena.Options {
	if o.Database == "" {
		o.Database = "stl_archive"
	}
	o.PollMin, o.PollMax = time.Millisecond, 4*time.Millisecond
	return o
}

func newEngine(t *testing.T, fake *awsfake.Athena, opts athena.Options) *athena.Engine {
	t.Helper()
	e, err := athena.New(fake.Client(), fastPolls(opts))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func ptr(s string) *string { return &s }

// numbered is a one-column bigint result with the values 1..n.
func numbered(n int) awsfake.AthenaScript {
	s := awsfake.AthenaScript{Columns: []awsfake.AthenaColumn{{Name: "n", Type: "bigint"}}}
	for i := 1; i <= n; i++ {
		s.Rows = append(s.Rows, []*string{ptr(strconv.Itoa(i))})
	}
	return s
}

func operations(fake *awsfake.Athena) []string {
	var ops []string
	for _, c := range fake.Calls() {
		ops = append(ops, c.Operation)
	}
	return ops
}

func int64s(t *testing.T, f duckdb.Field) []int64 {
	t.Helper()
	vals, ok := f.Values.([]*int64)
	if !ok {
		t.Fatalf("column %s: values are %T, want []*int64", f.Name, f.Values)
	}
	out := make([]int64, len(vals))
	for i, v := range vals {
		if v == nil {
			t.Fatalf("column %s row %d is NULL", f.Name, i)
		}
		out[i] = *v
	}
	return out
}

func TestQueryPollsUntilSucceededAndMakesOnlyItsOwnCalls(t *testing.T) {
	fake := awsfake.NewAthena(t)
	script := numbered(1500)
	script.States = []string{"QUEUED", "QUEUED", "RUNNING", "RUNNING", "SUCCEEDED"}
	fake.On("SELECT n FROM numbers", script)
	e := newEngine(t, fake, athena.Options{Workgroup: "grafana", OutputLocation: "s3://results/athena/", Database: "stl"})

	res, err := e.QueryLimit(context.Background(), "SELECT n FROM numbers", 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Len() != 1500 || res.Truncated {
		t.Fatalf("got %d rows (truncated %v), want 1500", res.Len(), res.Truncated)
	}
	want := []string{"StartQueryExecution", "GetQueryExecution", "GetQueryExecution", "GetQueryExecution",
		"GetQueryExecution", "GetQueryExecution", "GetQueryResults", "GetQueryResults"}
	if got := operations(fake); !slices.Equal(got, want) {
		t.Errorf("calls of one query:\n got %v\nwant %v", got, want)
	}
	ex := fake.Executions()
	if len(ex) != 1 {
		t.Fatalf("%d executions started, want 1", len(ex))
	}
	if ex[0].WorkGroup != "grafana" || ex[0].Catalog != "AwsDataCatalog" || ex[0].Database != "stl" ||
		ex[0].OutputLocation != "s3://results/athena/" || ex[0].ReuseMaxAgeMinutes != 0 {
		t.Errorf("started %+v: want workgroup grafana, catalog AwsDataCatalog, database stl, the output location and no result reuse", ex[0])
	}
	for _, c := range fake.Calls() {
		if c.QueryExecutionID != ex[0].ID {
			t.Errorf("%s was about execution %q, want %q", c.Operation, c.QueryExecutionID, ex[0].ID)
		}
	}
}

func TestStartCarriesTheConfiguredContext(t *testing.T) {
	cases := []struct {
		name string
		opts athena.Options
		want awsfake.AthenaExecution
	}{
		{"defaults", athena.Options{Database: "db"},
			awsfake.AthenaExecution{WorkGroup: "primary", Catalog: "AwsDataCatalog", Database: "db"}},
		{"own catalog and workgroup", athena.Options{Database: "db", Catalog: "lake", Workgroup: "wg", OutputLocation: "s3://b/p/"},
			awsfake.AthenaExecution{WorkGroup: "wg", Catalog: "lake", Database: "db", OutputLocation: "s3://b/p/"}},
		{"result reuse rounds up to minutes", athena.Options{Database: "db", ResultReuseMaxAge: 90 * time.Second},
			awsfake.AthenaExecution{WorkGroup: "primary", Catalog: "AwsDataCatalog", Database: "db", ReuseMaxAgeMinutes: 2}},
		{"result reuse of a week", athena.Options{Database: "db", ResultReuseMaxAge: 7 * 24 * time.Hour},
			awsfake.AthenaExecution{WorkGroup: "primary", Catalog: "AwsDataCatalog", Database: "db", ReuseMaxAgeMinutes: 10080}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := awsfake.NewAthena(t)
			fake.On("SELECT 1", numbered(1))
			if _, err := newEngine(t, fake, tc.opts).QueryLimit(context.Background(), "SELECT 1", 0); err != nil {
				t.Fatal(err)
			}
			got := fake.Executions()[0]
			got.ID, got.Query, got.State, got.ClientRequestToken = "", "", "", ""
			if got != tc.want {
				t.Errorf("started %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestNewRefusesOptionsAthenaWouldRefuse(t *testing.T) {
	fake := awsfake.NewAthena(t)
	cases := []struct {
		name string
		opts athena.Options
	}{
		{"no database", athena.Options{}},
		{"result reuse over a week", athena.Options{Database: "db", ResultReuseMaxAge: 7*24*time.Hour + time.Minute}},
		{"negative result reuse", athena.Options{Database: "db", ResultReuseMaxAge: -time.Minute}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := athena.New(fake.Client(), tc.opts); err == nil {
				t.Fatal("New accepted the options")
			}
		})
	}
}

func TestResultsOverManyPagesKeepEveryRowInOrder(t *testing.T) {
	fake := awsfake.NewAthena(t)
	script := awsfake.AthenaScript{Columns: []awsfake.AthenaColumn{{Name: "n", Type: "integer"}, {Name: "label", Type: "varchar"}}}
	for i := 1; i <= 2500; i++ {
		script.Rows = append(script.Rows, []*string{ptr(strconv.Itoa(i)), ptr(fmt.Sprintf("row %d", i))})
	}
	fake.On("SELECT n, label FROM t", script)

	res, err := newEngine(t, fake, athena.Options{}).QueryLimit(context.Background(), "SELECT n, label FROM t", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := fake.Count("GetQueryResults"); got != 3 {
		t.Errorf("%d result pages read, want 3 (header and 999 rows, 1000, 501)", got)
	}
	if res.Len() != 2500 || res.Truncated {
		t.Fatalf("got %d rows (truncated %v), want 2500", res.Len(), res.Truncated)
	}
	ns := int64s(t, res.Fields()[0])
	labels := res.Fields()[1].Values.([]*string)
	for i := range 2500 {
		if ns[i] != int64(i+1) || labels[i] == nil || *labels[i] != fmt.Sprintf("row %d", i+1) {
			t.Fatalf("row %d is (%d, %v), want (%d, row %d)", i, ns[i], labels[i], i+1, i+1)
		}
	}
}

func TestRowLimitKeepsTheFirstRowsAndMarksTruncation(t *testing.T) {
	cases := []struct {
		name          string
		engineMax     int
		maxRows       int
		wantRows      int
		wantTruncated bool
		wantPages     int
	}{
		{"limit inside the first page", 0, 10, 10, true, 1},
		{"limit at a page end", 0, 999, 999, true, 2},
		{"limit across pages", 0, 1200, 1200, true, 2},
		{"limit one below the rows", 0, 2499, 2499, true, 3},
		{"limit equal to the rows", 0, 2500, 2500, false, 3},
		{"limit above the rows", 0, 5000, 2500, false, 3},
		{"engine limit when the query has none", 100, 0, 100, true, 1},
		{"query limit cannot raise the engine's", 100, 1000, 100, true, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := awsfake.NewAthena(t)
			fake.On("SELECT n FROM t", numbered(2500))
			e := newEngine(t, fake, athena.Options{MaxRows: tc.engineMax})
			res, err := e.QueryLimit(context.Background(), "SELECT n FROM t", tc.maxRows)
			if err != nil {
				t.Fatal(err)
			}
			if res.Len() != tc.wantRows || res.Truncated != tc.wantTruncated {
				t.Errorf("got %d rows (truncated %v), want %d (truncated %v)", res.Len(), res.Truncated, tc.wantRows, tc.wantTruncated)
			}
			if tc.wantTruncated && res.MaxRows != tc.wantRows {
				t.Errorf("result MaxRows %d, want %d", res.MaxRows, tc.wantRows)
			}
			for i, n := range int64s(t, res.Fields()[0]) {
				if n != int64(i+1) {
					t.Fatalf("row %d is %d, want %d", i, n, i+1)
				}
			}
			if got := fake.Count("GetQueryResults"); got != tc.wantPages {
				t.Errorf("%d result pages read, want %d", got, tc.wantPages)
			}
		})
	}
}

func TestSmallLimitAsksForASmallPage(t *testing.T) {
	fake := awsfake.NewAthena(t)
	fake.On("SELECT n FROM t", numbered(2500))
	if _, err := newEngine(t, fake, athena.Options{}).QueryLimit(context.Background(), "SELECT n FROM t", 10); err != nil {
		t.Fatal(err)
	}
	for _, c := range fake.Calls() {
		if c.Operation == "GetQueryResults" {
			// The header, ten rows and one more to learn whether there are more.
			if got := c.Body["MaxResults"]; got != float64(12) {
				t.Errorf("MaxResults %v, want 12", got)
			}
		}
	}
}

func TestEmptyResultHasTypedEmptyColumns(t *testing.T) {
	fake := awsfake.NewAthena(t)
	fake.On("SELECT n, t FROM empty", awsfake.AthenaScript{Columns: []awsfake.AthenaColumn{{Name: "n", Type: "bigint"}, {Name: "t", Type: "timestamp"}}})
	res, err := newEngine(t, fake, athena.Options{}).QueryLimit(context.Background(), "SELECT n, t FROM empty", 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Len() != 0 || res.Truncated {
		t.Fatalf("got %d rows (truncated %v), want none", res.Len(), res.Truncated)
	}
	if _, ok := res.Fields()[0].Values.([]*int64); !ok {
		t.Errorf("empty bigint column holds %T", res.Fields()[0].Values)
	}
	if _, ok := res.Fields()[1].Values.([]*time.Time); !ok {
		t.Errorf("empty timestamp column holds %T", res.Fields()[1].Values)
	}
}

func TestColumnTypesBecomeTypedValues(t *testing.T) {
	ts := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		typ       string
		precision int32
		scale     int32
		text      string
		kind      duckdb.Kind
		fieldType string
		want      any
	}{
		{"tinyint", 0, 0, "-7", duckdb.KindInt64, "tinyint", int64(-7)},
		{"smallint", 0, 0, "32767", duckdb.KindInt64, "smallint", int64(32767)},
		{"integer", 0, 0, "-2147483648", duckdb.KindInt64, "integer", int64(math.MinInt32)},
		{"bigint", 0, 0, "9223372036854775807", duckdb.KindInt64, "bigint", int64(math.MaxInt64)},
		{"double", 0, 0, "0.125", duckdb.KindFloat64, "double", 0.125},
		{"double", 0, 0, "1.0E-4", duckdb.KindFloat64, "double", 1e-4},
		{"double", 0, 0, "Infinity", duckdb.KindFloat64, "double", math.Inf(1)},
		{"float", 0, 0, "2.5", duckdb.KindFloat64, "float", 2.5},
		{"real", 0, 0, "-2.5", duckdb.KindFloat64, "real", -2.5},
		{"decimal", 18, 3, "12345.678", duckdb.KindFloat64, "decimal(18,3)", 12345.678},
		// sum(CAST(bytes AS DECIMAL(38,0))) of the presets, beyond int64: three rows of 2^63-1.
		{"decimal", 38, 0, "27670116110564327421", duckdb.KindFloat64, "decimal(38,0)", 27670116110564327421.0},
		{"boolean", 0, 0, "true", duckdb.KindBool, "boolean", true},
		{"boolean", 0, 0, "false", duckdb.KindBool, "boolean", false},
		{"varchar", 0, 0, "select * from sales where note = 'it''s'", duckdb.KindString, "varchar", "select * from sales where note = 'it''s'"},
		{"varchar", 0, 0, "", duckdb.KindString, "varchar", ""},
		{"char", 8, 0, "padded  ", duckdb.KindString, "char", "padded  "},
		{"timestamp", 0, 0, "2026-11-29 18:04:05.123", duckdb.KindTime, "timestamp", ts("2026-11-29T18:04:05.123Z")},
		{"timestamp", 0, 0, "2026-11-29 18:04:05", duckdb.KindTime, "timestamp", ts("2026-11-29T18:04:05Z")},
		{"timestamp", 0, 0, "2026-11-29 18:04:05.123456", duckdb.KindTime, "timestamp", ts("2026-11-29T18:04:05.123456Z")},
		{"date", 0, 0, "2026-02-28", duckdb.KindTime, "date", ts("2026-02-28T00:00:00Z")},
		{"timestamp with time zone", 0, 0, "2026-11-29 18:04:05.000 UTC", duckdb.KindTime, "timestamp with time zone", ts("2026-11-29T18:04:05Z")},
		{"timestamp with time zone", 0, 0, "2026-11-29 19:04:05.000 +01:00", duckdb.KindTime, "timestamp with time zone", ts("2026-11-29T18:04:05Z")},
		{"timestamp with time zone", 0, 0, "2026-07-01 20:00:00.000 Europe/Paris", duckdb.KindTime, "timestamp with time zone", ts("2026-07-01T18:00:00Z")},
		{"array", 0, 0, "[1, 2, 3]", duckdb.KindString, "array", "[1, 2, 3]"},
		{"map", 0, 0, "{a=1}", duckdb.KindString, "map", "{a=1}"},
		{"row", 0, 0, "{x=1, y=abc}", duckdb.KindString, "row", "{x=1, y=abc}"},
		{"interval day to second", 0, 0, "0 00:05:00.000", duckdb.KindString, "interval day to second", "0 00:05:00.000"},
	}
	for _, tc := range cases {
		t.Run(tc.typ+" "+tc.text, func(t *testing.T) {
			fake := awsfake.NewAthena(t)
			// The value, then NULL: every type reads Athena's missing VarCharValue as NULL.
			fake.On("SELECT v FROM t", awsfake.AthenaScript{
				Columns: []awsfake.AthenaColumn{{Name: "v", Type: tc.typ, Precision: tc.precision, Scale: tc.scale}},
				Rows:    [][]*string{{ptr(tc.text)}, {nil}},
			})
			res, err := newEngine(t, fake, athena.Options{}).QueryLimit(context.Background(), "SELECT v FROM t", 0)
			if err != nil {
				t.Fatal(err)
			}
			f := res.Fields()[0]
			if f.Kind != tc.kind || f.Type != tc.fieldType || f.Name != "v" {
				t.Fatalf("field %s %q of kind %s, want v %q of kind %s", f.Name, f.Type, f.Kind, tc.fieldType, tc.kind)
			}
			got, null := first(t, f)
			if !null {
				t.Errorf("second row is not NULL")
			}
			if wt, ok := tc.want.(time.Time); ok {
				gt := got.(time.Time)
				if !gt.Equal(wt) || gt.Location() != time.UTC {
					t.Errorf("got %v, want %v in UTC", gt, wt)
				}
				return
			}
			if got != tc.want {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

// first returns the first value of a two-row field and whether the second is NULL.
func first(t *testing.T, f duckdb.Field) (any, bool) {
	t.Helper()
	switch v := f.Values.(type) {
	case []*int64:
		return *v[0], v[1] == nil
	case []*float64:
		return *v[0], v[1] == nil
	case []*bool:
		return *v[0], v[1] == nil
	case []*string:
		return *v[0], v[1] == nil
	case []*time.Time:
		return *v[0], v[1] == nil
	}
	t.Fatalf("values of type %T", f.Values)
	return nil, false
}

func TestUnreadableValueFailsNamingTheColumn(t *testing.T) {
	fake := awsfake.NewAthena(t)
	fake.On("SELECT v FROM t", awsfake.AthenaScript{
		Columns: []awsfake.AthenaColumn{{Name: "v", Type: "bigint"}},
		Rows:    [][]*string{{ptr("1")}, {ptr("not a number")}},
	})
	_, err := newEngine(t, fake, athena.Options{}).QueryLimit(context.Background(), "SELECT v FROM t", 0)
	if err == nil || !strings.Contains(err.Error(), "row 2, column v (bigint)") {
		t.Fatalf("error %v, want one naming row 2, column v", err)
	}
	if query.IsUserError(err) {
		t.Errorf("an unreadable result is counted as the user's: %v", err)
	}
}

func TestFailedAndCancelledQueriesAreSortedByFault(t *testing.T) {
	cases := []struct {
		name      string
		script    awsfake.AthenaScript
		user      bool
		is        error
		inMessage []string
	}{
		{
			name: "failed, user error",
			script: awsfake.AthenaScript{States: []string{"QUEUED", "RUNNING", "FAILED"},
				StateChangeReason: "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved",
				Error: &awsfake.AthenaQueryError{Category: 2, Type: 1006,
					Message: "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved"}},
			user: true, is: athena.ErrFailed,
			inMessage: []string{"query failed", "Column 'nope' cannot be resolved"},
		},
		{
			name: "failed, system error",
			script: awsfake.AthenaScript{States: []string{"RUNNING", "FAILED"},
				StateChangeReason: "GENERIC_INTERNAL_ERROR: something broke",
				Error:             &awsfake.AthenaQueryError{Category: 1, Type: 401, Retryable: true, Message: "GENERIC_INTERNAL_ERROR: something broke"}},
			user: false, is: athena.ErrFailed,
			inMessage: []string{"query failed", "something broke", "system error"},
		},
		{
			name: "failed without an AthenaError",
			script: awsfake.AthenaScript{States: []string{"FAILED"},
				StateChangeReason: "Access denied when writing output to url: s3://results/"},
			user: false, is: athena.ErrFailed,
			inMessage: []string{"Access denied when writing output"},
		},
		{
			name: "cancelled elsewhere",
			script: awsfake.AthenaScript{States: []string{"RUNNING", "CANCELLED"},
				StateChangeReason: "Query cancelled by the workgroup's data usage limit"},
			user: false, is: athena.ErrCancelled,
			inMessage: []string{"cancelled in Athena", "data usage limit"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := awsfake.NewAthena(t)
			fake.On("SELECT nope FROM stl_query", tc.script)
			_, err := newEngine(t, fake, athena.Options{}).QueryLimit(context.Background(), "SELECT nope FROM stl_query", 0)
			if err == nil {
				t.Fatal("query succeeded")
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %v does not match %v", err, tc.is)
			}
			if got := query.IsUserError(err); got != tc.user {
				t.Errorf("IsUserError(%v) = %v, want %v", err, got, tc.user)
			}
			if errors.Is(err, duckdb.ErrTimeout) {
				t.Errorf("error %v matches the time limit", err)
			}
			for _, s := range tc.inMessage {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if n := fake.Count("StopQueryExecution") + fake.Count("GetQueryResults"); n != 0 {
				t.Errorf("%d stop or result calls after the query ended", n)
			}
			var qe *athena.QueryError
			if !errors.As(err, &qe) || qe.Reason != tc.script.StateChangeReason {
				t.Errorf("error %v carries no QueryError with Athena's reason", err)
			}
		})
	}
}

func TestQueryAthenaRefusesAtStartIsTheUsers(t *testing.T) {
	fake := awsfake.NewAthena(t)
	fake.On("SELECT FROM", awsfake.AthenaScript{StartError: &awsfake.AthenaAPIError{Type: "InvalidRequestException",
		Message: "line 1:8: mismatched input 'FROM'"}})
	_, err := newEngine(t, fake, athena.Options{}).QueryLimit(context.Background(), "SELECT FROM", 0)
	if !errors.Is(err, duckdb.ErrInvalid) || !query.IsUserError(err) {
		t.Fatalf("error %v is not the user's", err)
	}
	if !strings.Contains(err.Error(), "mismatched input 'FROM'") {
		t.Errorf("error %q does not carry Athena's message", err)
	}
	if got := operations(fake); !slices.Equal(got, []string{"StartQueryExecution"}) {
		t.Errorf("calls %v, want the start only", got)
	}
}

func TestThrottledStartIsNotTheUsers(t *testing.T) {
	fake := awsfake.NewAthena(t)
	fake.On("SELECT 1", awsfake.AthenaScript{StartError: &awsfake.AthenaAPIError{Type: "TooManyRequestsException", Message: "Rate exceeded"}})
	_, err := newEngine(t, fake, athena.Options{}).QueryLimit(context.Background(), "SELECT 1", 0)
	if err == nil || query.IsUserError(err) {
		t.Fatalf("error %v: want a failure that is not the user's", err)
	}
}

func TestTimeLimitStopsTheQuery(t *testing.T) {
	fake := awsfake.NewAthena(t)
	fake.On("SELECT slow()", awsfake.AthenaScript{States: []string{"QUEUED", "RUNNING"}})
	e := newEngine(t, fake, athena.Options{Timeout: 100 * time.Millisecond})

	_, err := e.QueryLimit(context.Background(), "SELECT slow()", 0)
	if !errors.Is(err, duckdb.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v does not match the time limit", err)
	}
	if !query.IsUserError(err) {
		t.Errorf("a query over the time limit is not counted as the user's: %v", err)
	}
	assertStopped(t, fake)
}

func TestCancelStopsTheQuery(t *testing.T) {
	fake := awsfake.NewAthena(t)
	fake.On("SELECT slow()", awsfake.AthenaScript{States: []string{"RUNNING"}})
	e := newEngine(t, fake, athena.Options{})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Cancel once the query is known to run, as a closed dashboard would.
		for fake.Count("GetQueryExecution") < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := e.QueryLimit(ctx, "SELECT slow()", 0)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if errors.Is(err, duckdb.ErrTimeout) {
		t.Errorf("a cancelled query reports the time limit: %v", err)
	}
	assertStopped(t, fake)
}

// assertStopped checks that the one execution got a StopQueryExecution and ended CANCELLED.
func assertStopped(t *testing.T, fake *awsfake.Athena) {
	t.Helper()
	ex := fake.Executions()
	if len(ex) != 1 {
		t.Fatalf("%d executions, want 1", len(ex))
	}
	var stops []string
	for _, c := range fake.Calls() {
		if c.Operation == "StopQueryExecution" {
			stops = append(stops, c.QueryExecutionID)
		}
	}
	if !slices.Equal(stops, []string{ex[0].ID}) {
		t.Errorf("StopQueryExecution sent for %v, want once for %s", stops, ex[0].ID)
	}
	if !ex[0].Stopped || ex[0].State != "CANCELLED" {
		t.Errorf("execution ended %s (stopped %v), want CANCELLED by the stop", ex[0].State, ex[0].Stopped)
	}
}

func TestOnlyOneSelectOrWithQueryReachesAthena(t *testing.T) {
	refused := []string{
		"",
		"  -- just a comment\n",
		"DROP TABLE stl_query",
		"CREATE TABLE copy AS SELECT * FROM stl_query",
		"UNLOAD (SELECT * FROM stl_query) TO 's3://elsewhere/' WITH (format = 'PARQUET')",
		"INSERT INTO stl_query SELECT * FROM stl_query",
		"MSCK REPAIR TABLE stl_query",
		"SELECT 1; DROP TABLE stl_query",
		"/* SELECT */ DELETE FROM stl_query",
		"EXPLAIN ANALYZE SELECT 1",
	}
	for _, sql := range refused {
		t.Run("refuses "+sql, func(t *testing.T) {
			fake := awsfake.NewAthena(t)
			_, err := newEngine(t, fake, athena.Options{}).QueryLimit(context.Background(), sql, 0)
			if !errors.Is(err, duckdb.ErrRefused) || !query.IsUserError(err) {
				t.Errorf("error %v, want a refusal", err)
			}
			if n := len(fake.Calls()); n != 0 {
				t.Errorf("%d calls reached Athena", n)
			}
		})
	}
	accepted := []struct{ sql, sent string }{
		{"SELECT 1", "SELECT 1"},
		{"select 1;\n", "select 1"},
		{"-- top queries\nWITH a AS (SELECT 1 AS x) SELECT x FROM a;  -- done", "-- top queries\nWITH a AS (SELECT 1 AS x) SELECT x FROM a"},
		{"SELECT ';DROP TABLE x' AS s", "SELECT ';DROP TABLE x' AS s"},
		{`SELECT 1 AS "a;b"`, `SELECT 1 AS "a;b"`},
		{"(SELECT 1) UNION ALL (SELECT 2)", "(SELECT 1) UNION ALL (SELECT 2)"},
	}
	for _, tc := range accepted {
		t.Run("accepts "+tc.sql, func(t *testing.T) {
			fake := awsfake.NewAthena(t)
			fake.On(tc.sent, numbered(1))
			if _, err := newEngine(t, fake, athena.Options{}).QueryLimit(context.Background(), tc.sql, 0); err != nil {
				t.Fatal(err)
			}
			if ex := fake.Executions(); len(ex) != 1 || ex[0].Query != tc.sent {
				t.Errorf("executions %+v, want one of %q", ex, tc.sent)
			}
		})
	}
}

func TestConcurrentQueriesGetTheirOwnResults(t *testing.T) {
	fake := awsfake.NewAthena(t)
	for i := 1; i <= 8; i++ {
		s := numbered(i * 300)
		s.States = []string{"QUEUED", "RUNNING", "SUCCEEDED"}
		fake.On(fmt.Sprintf("SELECT n FROM t%d", i), s)
	}
	e := newEngine(t, fake, athena.Options{})
	errs := make(chan error, 8)
	for i := 1; i <= 8; i++ {
		go func() {
			res, err := e.QueryLimit(context.Background(), fmt.Sprintf("SELECT n FROM t%d", i), 0)
			if err == nil && res.Len() != i*300 {
				err = fmt.Errorf("query %d got %d rows, want %d", i, res.Len(), i*300)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
