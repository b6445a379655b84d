package provisioningtest

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/macro"
	presetcatalog "github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
)

// presets are the diagnostics preset ids the backend serves, by the format they answer in.
var presets = map[string]string{
	"query_volume":        "time_series",
	"query_duration":      "time_series",
	"top_queries":         "table",
	"alert_events":        "time_series",
	"missing_stats":       "table",
	"wlm_queue_wait":      "time_series",
	"scan_volume":         "table",
	"nested_loops":        "table",
	"ddl_audit":           "table",
	"utility_audit":       "table",
	"export_health":       "table",
	"ddl_annotations":     "annotations",
	"alert_annotations":   "annotations",
	"var_clusters":        "variable",
	"var_databases":       "variable",
	"var_users":           "variable",
	"var_tables":          "variable",
	"var_service_classes": "variable",
}

// requiredDashboards are the dashboards the product ships, by file name.
var requiredDashboards = []string{"overview.json", "query-performance.json", "wlm-queues.json", "alerts-audit.json", "exporter-health.json", "query-detail.json"}

func root(t *testing.T) string {
	t.Helper()
	r, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func dashboards(t *testing.T) []Dashboard {
	t.Helper()
	ds, err := Dashboards(root(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) == 0 {
		t.Fatal("no dashboards found through the providers")
	}
	return ds
}

func TestEveryShippedDashboardIsProvisioned(t *testing.T) {
	var names []string
	for _, d := range dashboards(t) {
		names = append(names, filepath.Base(d.File))
	}
	for _, want := range requiredDashboards {
		if !slices.Contains(names, want) {
			t.Errorf("dashboard %s is not in a provisioned folder; found %v", want, names)
		}
	}
}

// The foundation SDK's strict decoder knows Grafana's dashboard schema and, once the core panel
// plugins are registered, each panel type's options: an unknown or misspelled field, a wrong
// type or a missing required field fails. Queries of this plugin stay opaque to it.
func TestDashboardsPassStrictSchemaValidation(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	for _, d := range dashboards(t) {
		t.Run(d.File, func(t *testing.T) {
			model, err := strictDashboard(d.JSON)
			if err != nil {
				t.Fatalf("strict validation: %v", err)
			}
			// Grafana 11.0 reads schema 39; 12.x writes 41 and 42.
			if model.SchemaVersion < 39 || model.SchemaVersion > 42 {
				t.Errorf("schemaVersion %d is not one Grafana 11/12 writes", model.SchemaVersion)
			}
			if model.Uid == nil || *model.Uid == "" || model.Title == nil || *model.Title == "" {
				t.Errorf("dashboard needs a stable uid and a title")
			}
		})
	}
}

// strictDashboard decodes a dashboard with the SDK's strict decoder. The decoder returns its
// error list even when it is empty (a typed nil), so an empty list means valid.
func strictDashboard(raw []byte) (dashboard.Dashboard, error) {
	var model dashboard.Dashboard
	err := model.UnmarshalJSONStrict(raw)
	var list cog.BuildErrors
	if errors.As(err, &list) && len(list) == 0 {
		return model, nil
	}
	return model, err
}

func TestStrictValidationRejectsAnUnknownPanelOption(t *testing.T) {
	// Guards the test above: were the panel plugins not registered, options would be decoded
	// loosely and this would pass.
	plugins.RegisterDefaultPlugins()
	d := dashboards(t)[0]
	var m map[string]any
	if err := json.Unmarshal(d.JSON, &m); err != nil {
		t.Fatal(err)
	}
	panel := m["panels"].([]any)[0].(map[string]any)
	panel["options"].(map[string]any)["legendd"] = true
	raw, _ := json.Marshal(m)
	if _, err := strictDashboard(raw); err == nil || !strings.Contains(err.Error(), "legendd") {
		t.Fatalf("strict validation accepted an unknown option: %v", err)
	}
}

func TestDashboardUIDsAreUniqueAndStable(t *testing.T) {
	seen := map[string]string{}
	for _, d := range dashboards(t) {
		if d.UID == "" || len(d.UID) > 40 || strings.ContainsAny(d.UID, " /$") {
			t.Errorf("%s: uid %q must be set, at most 40 characters, no spaces, slashes or variables", d.File, d.UID)
		}
		if !strings.HasPrefix(d.UID, "stlarchive-") {
			t.Errorf("%s: uid %q should start with stlarchive- so it cannot clash with a user's dashboards", d.File, d.UID)
		}
		if other, dup := seen[d.UID]; dup {
			t.Errorf("uid %q used by %s and %s", d.UID, other, d.File)
		}
		seen[d.UID] = d.File
	}
}

func TestPanelIDsAreUniqueWithinEachDashboard(t *testing.T) {
	for _, d := range dashboards(t) {
		m, err := parseDashboard(d)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]string{}
		for _, p := range flattenPanels(m.Panels) {
			if p.ID <= 0 {
				t.Errorf("%s: panel %q has no id", d.File, p.Title)
			}
			if other, dup := seen[p.ID]; dup {
				t.Errorf("%s: panel id %d used by %q and %q", d.File, p.ID, other, p.Title)
			}
			seen[p.ID] = p.Title
		}
	}
}

// dsRef is a datasource reference as dashboards store it.
type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func checkRef(t *testing.T, where string, raw json.RawMessage) {
	t.Helper()
	var ref dsRef
	if len(raw) == 0 || json.Unmarshal(raw, &ref) != nil {
		t.Errorf("%s: datasource %s is not an object {type, uid}", where, raw)
		return
	}
	// A concrete uid breaks the dashboard wherever the datasource has another one (created in
	// the UI, imported from the plugin's page); the dashboard's datasource variable follows it.
	if ref.UID != DatasourceVariable || ref.Type != DatasourceType {
		t.Errorf("%s: datasource %+v, want {type %s, uid %s}", where, ref, DatasourceType, DatasourceVariable)
	}
}

func TestEveryPanelTargetVariableAndAnnotationUsesTheDatasourceVariable(t *testing.T) {
	for _, d := range dashboards(t) {
		m, err := parseDashboard(d)
		if err != nil {
			t.Fatal(err)
		}
		panels := flattenPanels(m.Panels)
		if len(panels) == 0 {
			t.Errorf("%s: no panels", d.File)
		}
		for _, p := range panels {
			if p.Type == "row" {
				continue
			}
			where := d.File + ": panel " + p.Title
			checkRef(t, where, p.Datasource)
			if len(p.Targets) == 0 {
				t.Errorf("%s: no targets", where)
			}
			for _, target := range p.Targets {
				var tg struct {
					Datasource json.RawMessage `json:"datasource"`
				}
				if err := json.Unmarshal(target, &tg); err != nil {
					t.Fatal(err)
				}
				checkRef(t, where+" target", tg.Datasource)
			}
		}
		for _, v := range m.Templating.List {
			if v.Type == "query" {
				checkRef(t, d.File+": variable "+v.Name, v.Datasource)
			}
		}
		for _, a := range m.Annotations.List {
			if a.BuiltIn == 0 {
				checkRef(t, d.File+": annotation "+a.Name, a.Datasource)
			}
		}
	}
}

// query is the query model the backend decodes (src/types.ts StlQuery).
type query struct {
	RefID     string   `json:"refId"`
	QueryType string   `json:"queryType"`
	Preset    string   `json:"preset"`
	RawSQL    string   `json:"rawSql"`
	Format    string   `json:"format"`
	Clusters  []string `json:"clusters"`
}

// checkQuery returns what is wrong with one query model; wantFormats are the preset formats
// that fit where the query is used.
func checkQuery(q Query, wantFormats ...string) []string {
	var m query
	dec := json.NewDecoder(strings.NewReader(string(q.Target)))
	if err := dec.Decode(&m); err != nil {
		return []string{err.Error()}
	}
	var problems []string
	if m.RefID == "" {
		problems = append(problems, "no refId")
	}
	switch {
	case m.Format == "time_series" || m.Format == "table":
	case m.Format == "" && (q.Kind == KindVariable || q.Kind == KindAnnotation):
		// The preset's own format (variable, annotations) applies.
	default:
		problems = append(problems, "format "+m.Format+" is not time_series or table")
	}
	switch m.QueryType {
	case "diagnostics":
		f, ok := presets[m.Preset]
		if !ok {
			problems = append(problems, "unknown preset "+m.Preset)
		} else if !slices.Contains(wantFormats, f) {
			problems = append(problems, "preset "+m.Preset+" answers "+f+", not "+strings.Join(wantFormats, " or "))
		}
		if m.RawSQL != "" {
			problems = append(problems, "diagnostics query with rawSql")
		}
	case "sql":
		if strings.TrimSpace(m.RawSQL) == "" {
			problems = append(problems, "sql query without rawSql")
		}
		if m.Preset != "" {
			problems = append(problems, "sql query with a preset")
		}
	case "status":
		if m.Preset != "" && m.Preset != "export_health" {
			problems = append(problems, "status query with preset "+m.Preset)
		}
	default:
		problems = append(problems, "queryType "+m.QueryType+" is not diagnostics, sql or status")
	}
	return problems
}

func TestPanelQueriesAreValidQueryModels(t *testing.T) {
	qs, err := PanelQueries(root(t))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, q := range qs {
		var m query
		_ = json.Unmarshal(q.Target, &m)
		kinds[m.QueryType]++
		for _, p := range checkQuery(q, "time_series", "table") {
			t.Errorf("%s: panel %q: %s", q.File, q.Title, p)
		}
		// Every panel follows the dashboard's cluster picker.
		if !slices.Equal(m.Clusters, []string{"$cluster"}) {
			t.Errorf("%s: panel %q: clusters %v, want [$cluster]", q.File, q.Title, m.Clusters)
		}
		if m.QueryType == "diagnostics" && presets[m.Preset] != m.Format {
			t.Errorf("%s: panel %q: preset %s answers %s but the panel asks for %s", q.File, q.Title, m.Preset, presets[m.Preset], m.Format)
		}
		if q.PanelType == "timeseries" && !q.TimeSeries {
			t.Errorf("%s: panel %q is a time series panel with a table query", q.File, q.Title)
		}
	}
	// Both paths of the backend are on the dashboards, and the export status too.
	for _, k := range []string{"diagnostics", "sql", "status"} {
		if kinds[k] == 0 {
			t.Errorf("no panel uses queryType %s", k)
		}
	}
}

// The ids above are the contract dashboards and rules are written against; the backend's
// built-in catalog must serve each with the same format.
func TestBackendCatalogServesEveryPresetInItsFormat(t *testing.T) {
	catalog, err := presetcatalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for id, format := range presets {
		p, ok := catalog.Lookup(id)
		if !ok {
			t.Errorf("the backend has no preset %s", id)
			continue
		}
		if p.Format != format {
			t.Errorf("preset %s: backend format %s, dashboards expect %s", id, p.Format, format)
		}
	}
}

func TestDashboardsUseEveryPanelPreset(t *testing.T) {
	used := map[string]bool{}
	for _, list := range []func(string) ([]Query, error){PanelQueries, Variables, Annotations} {
		qs, err := list(root(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			var m query
			_ = json.Unmarshal(q.Target, &m)
			used[m.Preset] = true
		}
	}
	for id, format := range presets {
		// var_databases, var_users and var_tables are for users' own dashboards.
		if format != "variable" && !used[id] {
			t.Errorf("preset %s appears on no dashboard", id)
		}
	}
}

func TestRawSQLPanelsExpandWithTheBackendMacros(t *testing.T) {
	qs, err := PanelQueries(root(t))
	if err != nil {
		t.Fatal(err)
	}
	values := map[string][]string{"cluster": {"demo-east", "demo-west"}, "service_class": {"6", "o'brien"}, "query": {"42"}}
	env := macro.Env{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC),
		Interval: time.Minute, Clusters: values["cluster"]}
	n := 0
	for _, q := range qs {
		var m query
		_ = json.Unmarshal(q.Target, &m)
		if m.QueryType != "sql" {
			continue
		}
		n++
		sub, err := Substitute(q.Target, values)
		if err != nil {
			t.Fatalf("%s: panel %q: %v", q.File, q.Title, err)
		}
		var s query
		_ = json.Unmarshal(sub, &s)
		for _, d := range []macro.Dialect{macro.DuckDB, macro.Athena} {
			out, err := macro.Expand(s.RawSQL, d, env)
			if err != nil {
				t.Errorf("%s: panel %q (%s): %v", q.File, q.Title, d, err)
				continue
			}
			if strings.Contains(out, "$") {
				t.Errorf("%s: panel %q (%s): unexpanded reference left in %s", q.File, q.Title, d, out)
			}
		}
		// The archive is partitioned by day: a panel without $__dayFilter reads every file.
		if !strings.Contains(m.RawSQL, "$__dayFilter") || !strings.Contains(m.RawSQL, "$__clusterFilter") {
			t.Errorf("%s: panel %q: raw SQL should prune with $__dayFilter and honour $__clusterFilter", q.File, q.Title)
		}
	}
	if n < 3 {
		t.Errorf("only %d raw SQL panels; the dashboards should exercise the SQL path too", n)
	}
}

func TestEveryDashboardHasAMultiValueClusterVariable(t *testing.T) {
	vars, err := Variables(root(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dashboards(t) {
		m, err := parseDashboard(d)
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, v := range m.Templating.List {
			if v.Name != "cluster" {
				continue
			}
			found = true
			if v.Type != "query" || !v.Multi || !v.IncludeAll {
				t.Errorf("%s: cluster variable must be a multi-value query variable with All", d.File)
			}
		}
		if !found {
			t.Errorf("%s: no cluster variable", d.File)
		}
	}
	for _, v := range vars {
		for _, p := range checkQuery(v, "variable") {
			t.Errorf("%s: variable %s: %s", v.File, v.Title, p)
		}
		var m query
		_ = json.Unmarshal(v.Target, &m)
		if v.Title == "cluster" && m.Preset != "var_clusters" {
			t.Errorf("%s: cluster variable uses preset %q, want var_clusters", v.File, m.Preset)
		}
	}
}

func TestEveryReferencedVariableIsDefinedOnItsDashboard(t *testing.T) {
	defined := map[string][]string{}
	for _, d := range dashboards(t) {
		m, err := parseDashboard(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range m.Templating.List {
			defined[d.File] = append(defined[d.File], v.Name)
		}
	}
	var all []Query
	for _, list := range []func(string) ([]Query, error){PanelQueries, Variables, Annotations} {
		qs, err := list(root(t))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, qs...)
	}
	for _, q := range all {
		names, err := VariableNames(q.Target)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if !slices.Contains(defined[q.File], n) {
				t.Errorf("%s: %s %q refers to $%s, which the dashboard does not define", q.File, q.Kind, q.Title, n)
			}
		}
	}
}

func TestAnnotationsComeFromTheAnnotationPresets(t *testing.T) {
	qs, err := Annotations(root(t))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, q := range qs {
		for _, p := range checkQuery(q, "annotations") {
			t.Errorf("%s: annotation %q: %s", q.File, q.Title, p)
		}
		var m query
		_ = json.Unmarshal(q.Target, &m)
		got[m.Preset] = true
	}
	for _, want := range []string{"ddl_annotations", "alert_annotations"} {
		if !got[want] {
			t.Errorf("no dashboard shows the %s annotations", want)
		}
	}
}

func TestProviderPointsAtTheFolderHoldingTheDashboards(t *testing.T) {
	r := root(t)
	providers, err := Providers(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(providers) != 1 {
		t.Fatalf("%d dashboard providers, want 1", len(providers))
	}
	p := providers[0]
	if p.Type != "file" || p.Folder == "" {
		t.Errorf("provider %q: type %q folder %q, want a file provider with a folder", p.Name, p.Type, p.Folder)
	}
	matches, err := filepath.Glob(filepath.Join(p.Dir, "*.json"))
	if err != nil || len(matches) < len(requiredDashboards) {
		t.Errorf("provider path %s (%s here) holds %d dashboards: %v", p.Options.Path, p.Dir, len(matches), err)
	}
	// No dashboard JSON lies outside the provider's folder, where Grafana would not see it.
	err = filepath.Walk(filepath.Join(r, "dashboards"), func(path string, info os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(path, ".json") && filepath.Dir(path) != p.Dir {
			t.Errorf("%s is outside the provider's folder", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
