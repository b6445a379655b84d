package athena_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
	"github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/athena"
)

// TestConfigurationRefusalsAreNotTheQueryAuthors runs a valid query where Athena's configuration
// refuses it with InvalidRequestException, as on a fresh account: no result location, an unknown
// or disabled workgroup, result reuse on engine version 2. Each is a configuration error naming
// the setting, never "invalid query".
func TestConfigurationRefusalsAreNotTheQueryAuthors(t *testing.T) {
	cases := []struct {
		name    string
		wg      awsfake.AthenaWorkGroup
		opts    athena.Options
		setting string
	}{
		{"no output location", awsfake.AthenaWorkGroup{Name: "primary"}, athena.Options{}, "query.athena.outputLocation"},
		{"unknown workgroup", awsfake.AthenaWorkGroup{Name: "primary", OutputLocation: "s3://r/"}, athena.Options{Workgroup: "stl"}, `query.athena.workgroup "stl" does not exist`},
		{"disabled workgroup", awsfake.AthenaWorkGroup{Name: "stl", Disabled: true, OutputLocation: "s3://r/"}, athena.Options{Workgroup: "stl"}, "is disabled"},
		{"reuse on engine 2", awsfake.AthenaWorkGroup{Name: "primary", OutputLocation: "s3://r/", EngineVersion: 2},
			athena.Options{ResultReuseMaxAge: 5 * time.Minute}, "query.athena.resultReuse needs Athena engine version 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := awsfake.NewAthena(t)
			fake.AddWorkGroup(tc.wg)
			fake.On("SELECT 1", numbered(1))
			_, err := newEngine(t, fake, tc.opts).QueryLimit(context.Background(), "SELECT 1", 0)
			if !errors.Is(err, athena.ErrConfiguration) || query.IsUserError(err) {
				t.Fatalf("error %v: want a configuration error, not the query author's", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.setting) || strings.Contains(msg, "invalid query") {
				t.Errorf("error %q: want it to name %q and not call the query invalid", msg, tc.setting)
			}
		})
	}
	// The same exception about the SQL stays the author's.
	fake := awsfake.NewAthena(t)
	fake.AddWorkGroup(awsfake.AthenaWorkGroup{Name: "primary", OutputLocation: "s3://r/"})
	fake.On("SELECT FROM", awsfake.AthenaScript{StartError: &awsfake.AthenaAPIError{Type: "InvalidRequestException",
		Message: "line 1:8: mismatched input 'FROM'"}})
	if _, err := newEngine(t, fake, athena.Options{}).QueryLimit(context.Background(), "SELECT FROM", 0); !query.IsUserError(err) || errors.Is(err, athena.ErrConfiguration) {
		t.Errorf("syntax error %v: want the author's", err)
	}
}

// TestHealthCheckAsksGetWorkGroupOnce checks the workgroup with one GetWorkGroup call and no
// query: it reports the effective result location and engine version, and names the setting
// for each problem a query would hit.
func TestHealthCheckAsksGetWorkGroupOnce(t *testing.T) {
	cases := []struct {
		name string
		wg   awsfake.AthenaWorkGroup
		opts athena.Options
		want string // a part of the error; "" for healthy
		out  string
	}{
		{"workgroup's location", awsfake.AthenaWorkGroup{Name: "primary", OutputLocation: "s3://wg-results/"}, athena.Options{}, "", "s3://wg-results/"},
		{"datasource's location", awsfake.AthenaWorkGroup{Name: "primary", OutputLocation: "s3://wg-results/"}, athena.Options{OutputLocation: "s3://ds/"}, "", "s3://ds/"},
		{"enforced location", awsfake.AthenaWorkGroup{Name: "primary", OutputLocation: "s3://wg-results/", Enforce: true}, athena.Options{OutputLocation: "s3://ds/"}, "", "s3://wg-results/"},
		{"no location", awsfake.AthenaWorkGroup{Name: "primary"}, athena.Options{}, "query.athena.outputLocation", ""},
		{"unknown", awsfake.AthenaWorkGroup{Name: "primary", OutputLocation: "s3://r/"}, athena.Options{Workgroup: "nope"}, `query.athena.workgroup "nope"`, ""},
		{"disabled", awsfake.AthenaWorkGroup{Name: "primary", OutputLocation: "s3://r/", Disabled: true}, athena.Options{}, "disabled", ""},
		{"reuse on v2", awsfake.AthenaWorkGroup{Name: "primary", OutputLocation: "s3://r/", EngineVersion: 2}, athena.Options{ResultReuseMaxAge: time.Minute}, "resultReuse needs Athena engine version 3", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := awsfake.NewAthena(t)
			fake.AddWorkGroup(tc.wg)
			c, err := newEngine(t, fake, tc.opts).Check(context.Background())
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("check: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("check error %v, want one about %q", err, tc.want)
			}
			if tc.want == "" && (c.OutputLocation != tc.out || c.EngineVersion != "Athena engine version 3") {
				t.Errorf("check %+v, want results in %s on engine version 3", c, tc.out)
			}
			if ops := operations(fake); len(ops) != 1 || ops[0] != "GetWorkGroup" {
				t.Errorf("calls %v, want GetWorkGroup once", ops)
			}
		})
	}
}

// TestQueriesDoNotCallGetWorkGroup: Athena throttles GetWorkGroup; a query makes the three calls
// it needs and no other.
func TestQueriesDoNotCallGetWorkGroup(t *testing.T) {
	fake := awsfake.NewAthena(t)
	fake.AddWorkGroup(awsfake.AthenaWorkGroup{Name: "primary", OutputLocation: "s3://r/"})
	fake.On("SELECT 1", numbered(1))
	if _, err := newEngine(t, fake, athena.Options{}).QueryLimit(context.Background(), "SELECT 1", 0); err != nil {
		t.Fatal(err)
	}
	for _, op := range operations(fake) {
		if op == "GetWorkGroup" {
			t.Errorf("a query called GetWorkGroup")
		}
	}
}
