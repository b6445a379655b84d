package plugin_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/plugintest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/provisioningtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// TestEveryProvisionedQueryThroughThePluginBinary runs every panel, variable, annotation and
// alert-rule query of the shipped provisioning through the compiled plugin, launched as Grafana
// launches it, over an archive the exporter filled from two simulated clusters.
func TestEveryProvisionedQueryThroughThePluginBinary(t *testing.T) {
	ctx := context.Background()
	east, west := simtest.New(t, "demo-east", 1), simtest.New(t, "demo-west", 1)
	var last time.Time
	for _, c := range []*simtest.Cluster{east, west} {
		last = c.History(t, 30*time.Minute)
	}
	simtest.WaitPastLag(t, east, last)
	simtest.WaitPastLag(t, west, last)
	root := t.TempDir()
	cfg := config.Defaults()
	cfg.Archive.Path = root
	cfg.State.Path = filepath.Join(root, ".state", "export.db")
	cfg.Export.Lag, cfg.Export.QueryGroup, cfg.Export.Tables = simtest.Lag, simtest.QueryGroup, tables.Names()
	cfg.Clusters = []config.Cluster{east.Cfg, west.Cfg}
	exp, err := export.Open(cfg, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range exp.Cycle(ctx) {
		if err := r.Failed(); err != nil {
			t.Fatal(err)
		}
	}
	exp.Close()

	host := plugintest.Start(t, plugintest.Binary(t))
	// The plugin reads the same archive and state; its own exporter stays off.
	s := settingsFor(t, root, false, east, west)
	s.UID = "provisioned"
	now := time.Now().UTC()
	tr := backend.TimeRange{From: now.Add(-2 * time.Hour), To: now}

	prov, err := provisioningtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string][]string{"cluster": {"demo-east", "demo-west"}, "service_class": {"6", "7", "8", "100", "101"}}
	// A query id, as the link from a query table fills the query-detail dashboard's variable.
	sample, err := provisioningtest.Substitute(json.RawMessage(`{"refId":"A","queryType":"sql","rawSql":`+strconv.Quote(provisioningtest.SampleQuerySQL)+`,"clusters":["$cluster"]}`), values)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := host.QueryData(ctx, s, nil, backend.DataQuery{RefID: "A", JSON: sample, TimeRange: tr, Interval: time.Minute, MaxDataPoints: 1000})
	if err != nil || resp.Responses["A"].Error != nil || len(resp.Responses["A"].Frames) == 0 || resp.Responses["A"].Frames[0].Rows() != 1 {
		t.Fatalf("sample query id: %v %+v", err, resp)
	}
	id, ok := resp.Responses["A"].Frames[0].Fields[0].ConcreteAt(0)
	if !ok {
		t.Fatal("no query in the archive")
	}
	values["query"] = []string{id.(string)}
	var all []provisioningtest.Query
	for _, list := range []func(string) ([]provisioningtest.Query, error){provisioningtest.PanelQueries, provisioningtest.Variables, provisioningtest.Annotations} {
		qs, err := list(prov)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, qs...)
	}
	if len(all) < 30 {
		t.Fatalf("only %d provisioned queries found", len(all))
	}
	start := time.Now()
	for _, q := range all {
		target, err := provisioningtest.Substitute(q.Target, values)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := host.QueryData(ctx, s, nil, backend.DataQuery{RefID: "A", JSON: target, TimeRange: tr,
			Interval: time.Minute, MaxDataPoints: 1000})
		if err != nil {
			t.Fatal(err)
		}
		r := resp.Responses["A"]
		if r.Error != nil {
			t.Errorf("%s %s %q: %v", q.File, q.Kind, q.Title, r.Error)
			continue
		}
		rows := 0
		for _, f := range r.Frames {
			rows += f.Rows()
			// Status answers come from the export state, not from SQL.
			if f.Name != "export_status" && (f.Meta == nil || f.Meta.ExecutedQueryString == "") {
				t.Errorf("%s %q: frame without the SQL that ran", q.File, q.Title)
			}
		}
		if rows == 0 {
			t.Errorf("%s %s %q: no rows", q.File, q.Kind, q.Title)
		}
		if q.TimeSeries {
			assertLabelledByCluster(t, q, r, false)
		}
	}
	t.Logf("%d dashboard, variable and annotation queries answered through the plugin in %v", len(all), time.Since(start).Round(time.Millisecond))

	alerts, err := provisioningtest.AlertQueries(prov)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range alerts {
		// As Grafana's alerting sends it: the stored model, no template variables, FromAlert.
		resp, err := host.QueryData(ctx, s, map[string]string{"FromAlert": "true"}, backend.DataQuery{RefID: "A", JSON: q.Target,
			TimeRange: backend.TimeRange{From: now.Add(-q.From), To: now.Add(-q.To)}, Interval: time.Minute, MaxDataPoints: 43200})
		if err != nil {
			t.Fatal(err)
		}
		r := resp.Responses["A"]
		if r.Error != nil {
			t.Errorf("rule %s: %v", q.Dashboard, r.Error)
			continue
		}
		assertLabelledByCluster(t, q, r, true)
	}
	t.Logf("%d alert rule queries give numeric series labelled by cluster", len(alerts))
}

// assertLabelledByCluster checks numeric series, each labelled by a cluster, both clusters
// present, and no two series alike: for alerting, which tells series apart by labels alone, no
// two with the same labels; for panels, no two with the same name and labels.
func assertLabelledByCluster(t *testing.T, q provisioningtest.Query, r backend.DataResponse, alerting bool) {
	t.Helper()
	clusters := map[string]bool{}
	seen := map[string]bool{}
	for _, f := range r.Frames {
		for _, field := range f.Fields {
			if !field.Type().Numeric() {
				continue
			}
			if field.Labels["cluster"] == "" {
				t.Errorf("%s %q: numeric series %s has no cluster label", q.File, q.Title, field.Name)
			}
			clusters[field.Labels["cluster"]] = true
			key := field.Labels.String()
			if !alerting {
				key = field.Name + " " + key
			}
			if seen[key] {
				t.Errorf("%s %q: two series labelled %s", q.File, q.Title, field.Labels)
			}
			seen[key] = true
		}
	}
	if !clusters["demo-east"] || !clusters["demo-west"] {
		t.Errorf("%s %q: series for clusters %v, want demo-east and demo-west", q.File, q.Title, clusters)
	}
}
