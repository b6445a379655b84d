package provisioningtest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	presetcatalog "github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// The dashboards must work wherever they land: provisioned next to the datasource of
// provisioning/datasources, imported from the plugin's page next to a datasource created in the
// UI, or copied to another Grafana. These tests hold them to that.

// walk calls fn on every JSON object of v, with the path that leads to it.
func walk(v any, path string, fn func(path string, obj map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(path, x)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walk(x[k], path+"."+k, fn)
		}
	case []any:
		for i, e := range x {
			walk(e, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	}
}

func decodeAny(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// hardCodedRefs lists every datasource reference of a dashboard that is not the datasource
// variable: an object of the plugin's type with another uid, or a datasource named by a string.
func hardCodedRefs(v any) []string {
	var bad []string
	walk(v, "", func(path string, obj map[string]any) {
		ds, ok := obj["datasource"]
		if !ok {
			return
		}
		switch ref := ds.(type) {
		case map[string]any:
			uid, _ := ref["uid"].(string)
			typ, _ := ref["type"].(string)
			if typ == DatasourceType && uid != DatasourceVariable || typ == "" && uid != "" && uid != DatasourceVariable {
				bad = append(bad, fmt.Sprintf("%s.datasource %v", path, ref))
			}
		case string:
			if ref != DatasourceVariable && ref != "$datasource" {
				bad = append(bad, fmt.Sprintf("%s.datasource %q", path, ref))
			}
		}
	})
	return bad
}

func TestNoDashboardHardCodesADatasourceUID(t *testing.T) {
	for _, d := range dashboards(t) {
		for _, b := range hardCodedRefs(decodeAny(t, d.JSON)) {
			t.Errorf("%s: %s: use {type %s, uid %s}", d.File, b, DatasourceType, DatasourceVariable)
		}
	}
	// Guard the walk: a uid deep in a collapsed row's target is found.
	hidden := `{"panels":[{"type":"row","panels":[{"targets":[{"datasource":{"type":"` + DatasourceType + `","uid":"stlarchive"}}]}]}]}`
	if len(hardCodedRefs(decodeAny(t, []byte(hidden)))) != 1 {
		t.Fatal("the walk misses a hard-coded uid in a row's panel target")
	}
}

func TestEveryDashboardHasADatasourceVariableOfThePluginType(t *testing.T) {
	for _, d := range dashboards(t) {
		var m struct {
			Templating struct {
				List []struct {
					Name       string `json:"name"`
					Type       string `json:"type"`
					Query      any    `json:"query"`
					Multi      bool   `json:"multi"`
					IncludeAll bool   `json:"includeAll"`
				} `json:"list"`
			} `json:"templating"`
		}
		if err := json.Unmarshal(d.JSON, &m); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, v := range m.Templating.List {
			if v.Name != "datasource" {
				continue
			}
			found = true
			if v.Type != "datasource" || v.Query != DatasourceType || v.Multi || v.IncludeAll {
				t.Errorf("%s: variable datasource is %s of %v (multi %v, all %v), want a single datasource of type %s",
					d.File, v.Type, v.Query, v.Multi, v.IncludeAll, DatasourceType)
			}
		}
		if !found {
			t.Errorf("%s: no datasource variable", d.File)
		}
	}
}

// pluginJSON is the part of plugin.json that lists the dashboards the plugin's page offers.
type pluginJSON struct {
	Includes []struct {
		Type string `json:"type"`
		Name string `json:"name"`
		Path string `json:"path"`
	} `json:"includes"`
}

// Grafana offers a plugin's dashboards for import on the plugin's page from plugin.json's
// includes, read from the plugin's folder (dist/): every shipped dashboard is listed there,
// every listed one exists, and the frontend build copies them into dist/ at that path.
func TestEveryShippedDashboardIsInPluginIncludes(t *testing.T) {
	repo := filepath.Dir(root(t))
	raw, err := os.ReadFile(filepath.Join(repo, "plugin.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pj pluginJSON
	if err := json.Unmarshal(raw, &pj); err != nil {
		t.Fatal(err)
	}
	included := map[string]string{}
	for _, inc := range pj.Includes {
		if inc.Type == "dashboard" {
			included[inc.Path] = inc.Name
		}
	}
	shipped := map[string]bool{}
	for _, d := range dashboards(t) {
		path := "dashboards/" + filepath.Base(d.File)
		shipped[path] = true
		name, ok := included[path]
		switch {
		case !ok:
			t.Errorf("%s is not in plugin.json includes as {type dashboard, path %s}", d.File, path)
		case name != d.Title:
			t.Errorf("plugin.json includes %s as %q; the dashboard's title is %q", path, name, d.Title)
		}
	}
	for path := range included {
		if !shipped[path] {
			t.Errorf("plugin.json includes %s, which is no shipped dashboard", path)
		}
	}
	// The build copies the provider's folder to dist/dashboards (webpack.config.ts).
	providers, err := Providers(root(t))
	if err != nil || len(providers) != 1 {
		t.Fatalf("providers: %v", err)
	}
	rel, err := filepath.Rel(repo, providers[0].Dir)
	if err != nil {
		t.Fatal(err)
	}
	webpack, err := os.ReadFile(filepath.Join(repo, "webpack.config.ts"))
	if err != nil {
		t.Fatal(err)
	}
	copyRule := fmt.Sprintf("{ from: '../%s', to: 'dashboards' }", filepath.ToSlash(rel))
	if !strings.Contains(string(webpack), copyRule) {
		t.Errorf("webpack.config.ts does not copy the dashboards into dist/: want the pattern %s", copyRule)
	}
}

// panelUnits is what a panel says about the units of its fields.
type panelUnits struct {
	ID          int               `json:"id"`
	Type        string            `json:"type"`
	Title       string            `json:"title"`
	Targets     []json.RawMessage `json:"targets"`
	Panels      []panelUnits      `json:"panels"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
		Overrides []struct {
			Matcher struct {
				ID      string `json:"id"`
				Options any    `json:"options"`
			} `json:"matcher"`
			Properties []struct {
				ID    string `json:"id"`
				Value any    `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
}

// unit is the unit the panel shows field in: an override by its name, else the default.
func (p panelUnits) unit(field string) string {
	for _, o := range p.FieldConfig.Overrides {
		if o.Matcher.ID != "byName" || o.Matcher.Options != field {
			continue
		}
		for _, prop := range o.Properties {
			if prop.ID == "unit" {
				u, _ := prop.Value.(string)
				return u
			}
		}
	}
	return p.FieldConfig.Defaults.Unit
}

func flattenUnits(ps []panelUnits) []panelUnits {
	var out []panelUnits
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flattenUnits(p.Panels)...)
	}
	return out
}

// sqlAlias matches the output names of raw SQL ("AS queue_seconds").
var sqlAlias = regexp.MustCompile(`(?i)\bAS\s+"?(\w+)"?`)

// valueUnits is, for one query model, each field that has a unit and the unit UnitOf gives
// it: preset value columns (counts when no rule matches), the export status fields, and the
// output names of raw SQL that a rule matches.
func valueUnits(t *testing.T, catalog *presetcatalog.Catalog, target json.RawMessage) map[string]string {
	t.Helper()
	var m struct {
		QueryType string `json:"queryType"`
		Preset    string `json:"preset"`
		RawSQL    string `json:"rawSql"`
		Format    string `json:"format"`
		Metric    string `json:"metric"`
	}
	if err := json.Unmarshal(target, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	status := func() {
		if m.Format == "time_series" {
			if m.Metric != "gaps" {
				out["lag_seconds"] = UnitOf("lag_seconds")
			}
			if m.Metric != "lag_seconds" {
				out["gaps"] = CountUnit
			}
			return
		}
		out["lag_seconds"], out["rows"], out["gaps"] = UnitOf("lag_seconds"), UnitOf("rows"), CountUnit
	}
	switch m.QueryType {
	case "status":
		status()
	case "diagnostics":
		p, ok := catalog.Lookup(m.Preset)
		if !ok {
			t.Fatalf("no preset %s", m.Preset)
		}
		if p.FromStatus() {
			status()
			break
		}
		for _, c := range p.Columns {
			if c.Role != presetcatalog.RoleValue {
				continue
			}
			if out[c.Name] = UnitOf(c.Name); out[c.Name] == "" {
				out[c.Name] = CountUnit
			}
		}
	case "sql":
		for _, a := range sqlAlias.FindAllStringSubmatch(m.RawSQL, -1) {
			if u := UnitOf(a[1]); u != "" {
				out[a[1]] = u
			}
		}
	}
	return out
}

// Every value with a unit is shown in it: durations in s or ms, sizes in bytes, counts as short.
// Which unit a field has is decided by its name (UnitOf) and, for presets, its role.
func TestPanelsShowEveryValueInItsUnit(t *testing.T) {
	catalog, err := presetcatalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, d := range dashboards(t) {
		var m struct {
			Panels []panelUnits `json:"panels"`
		}
		if err := json.Unmarshal(d.JSON, &m); err != nil {
			t.Fatal(err)
		}
		for _, p := range flattenUnits(m.Panels) {
			for _, target := range p.Targets {
				for field, want := range valueUnits(t, catalog, target) {
					checked++
					if got := p.unit(field); got != want {
						t.Errorf("%s: panel %d %q shows %s in unit %q, want %q", d.File, p.ID, p.Title, field, got, want)
					}
				}
			}
		}
	}
	if checked < 30 {
		t.Errorf("only %d fields with a unit checked; the rule no longer sees the panels' fields", checked)
	}
	// The rule itself, for the names the presets and panels use.
	for name, want := range map[string]string{"p95_seconds": "s", "seconds": "s", "duration_ms": "ms", "bytes": "bytes",
		"rows": "short", "archived_rows": "short", "lag_seconds": "s", "total_queue_us": "µs", "queries": "", "cluster": ""} {
		if got := UnitOf(name); got != want {
			t.Errorf("UnitOf(%q) = %q, want %q", name, got, want)
		}
	}
}

// link is a data link or a panel link, and where it is.
type link struct {
	where, title, url string
	field             string // the field an override puts it on; "" for panel defaults
}

// dashboardLinks finds every link with a URL in a dashboard: field defaults, overrides by name,
// panel links and dashboard links.
func dashboardLinks(v any) []link {
	var out []link
	add := func(where, field string, list any) {
		items, _ := list.([]any)
		for _, it := range items {
			obj, _ := it.(map[string]any)
			u, _ := obj["url"].(string)
			title, _ := obj["title"].(string)
			if u != "" {
				out = append(out, link{where: where, title: title, url: u, field: field})
			}
		}
	}
	walk(v, "", func(path string, obj map[string]any) {
		if l, ok := obj["links"]; ok {
			add(path, "", l)
		}
		if matcher, ok := obj["matcher"].(map[string]any); ok {
			field, _ := matcher["options"].(string)
			props, _ := obj["properties"].([]any)
			for _, p := range props {
				prop, _ := p.(map[string]any)
				if prop["id"] == "links" {
					add(path, field, prop["value"])
				}
			}
		}
	})
	return out
}

// dashboardURL matches a link to a dashboard of this Grafana: /d/<uid>[/<slug>][?query].
var dashboardURL = regexp.MustCompile(`^/d/([^/?]+)(?:/[^?]*)?(?:\?(.*))?$`)

// Every link leads to a shipped dashboard, with the same datasource and only variables that
// dashboard defines; a top query leads to its full SQL text and plan, and a cluster to its WLM
// view.
func TestDataLinksLeadToShippedDashboards(t *testing.T) {
	vars := map[string][]string{}
	for _, d := range dashboards(t) {
		m, err := parseDashboard(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range m.Templating.List {
			vars[d.UID] = append(vars[d.UID], v.Name)
		}
	}
	var toDetail, toWLM bool
	for _, d := range dashboards(t) {
		doc := decodeAny(t, d.JSON)
		for _, l := range dashboardLinks(doc) {
			m := dashboardURL.FindStringSubmatch(l.url)
			if m == nil {
				t.Errorf("%s: %s: link %q leads outside the shipped dashboards", d.File, l.where, l.url)
				continue
			}
			uid := m[1]
			defined, ok := vars[uid]
			if !ok {
				t.Errorf("%s: %s: link %q leads to dashboard %s, which does not exist", d.File, l.where, l.url, uid)
				continue
			}
			params := map[string]bool{}
			for _, kv := range strings.Split(m[2], "&") {
				name, value, _ := strings.Cut(kv, "=")
				if strings.HasPrefix(kv, "${") || name == "" {
					continue // ${__url_time_range} and the like
				}
				v, ok := strings.CutPrefix(name, "var-")
				if !ok {
					continue
				}
				params[v] = true
				if !slices.Contains(defined, v) {
					t.Errorf("%s: %s: link sets variable %s, which %s does not define", d.File, l.where, v, uid)
				}
				if v == "datasource" && value != DatasourceVariable {
					t.Errorf("%s: %s: link passes datasource %q, want %s", d.File, l.where, value, DatasourceVariable)
				}
			}
			if !params["datasource"] {
				t.Errorf("%s: %s: link %q does not pass var-datasource, so it may open on another datasource", d.File, l.where, l.url)
			}
			if _, err := url.Parse(l.url); err != nil {
				t.Errorf("%s: %s: link %q: %v", d.File, l.where, l.url, err)
			}
			if uid == "stlarchive-query-detail" && l.field == "query" && params["query"] && params["cluster"] {
				toDetail = true
			}
			if uid == "stlarchive-wlm-queues" && params["cluster"] {
				toWLM = true
			}
		}
	}
	if !toDetail {
		t.Error("no link from a query id to the query detail dashboard (its full SQL text and plan)")
	}
	if !toWLM {
		t.Error("no link from a cluster to the WLM dashboard")
	}
	// The top queries table links each query to its detail.
	qs, err := PanelQueries(root(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		var m query
		_ = json.Unmarshal(q.Target, &m)
		if m.Preset != "top_queries" {
			continue
		}
		d := dashboardByFile(t, q.File)
		linked := false
		for _, l := range dashboardLinks(decodeAny(t, d.JSON)) {
			if l.field == "query" && strings.Contains(l.url, "/d/stlarchive-query-detail") {
				linked = true
			}
		}
		if !linked {
			t.Errorf("%s: panel %q lists top queries without a link to their detail", q.File, q.Title)
		}
	}
}

func dashboardByFile(t *testing.T, file string) Dashboard {
	t.Helper()
	for _, d := range dashboards(t) {
		if d.File == file {
			return d
		}
	}
	t.Fatalf("no dashboard %s", file)
	return Dashboard{}
}

// sumOverColumn is a sum() or avg() whose argument is a bare (optionally qualified) column.
var sumOverColumn = regexp.MustCompile(`(?i)\b(sum|avg)\s*\(\s*(?:\w+\.)?(\w+)\s*\)`)

// The raw SQL of the panels follows the presets' rule: a sum or average over an integer column
// of the catalog adds it as DECIMAL(38,0) or DOUBLE, so it survives counters near 2^63-1.
func TestPanelSQLNeverSumsBareIntegerColumns(t *testing.T) {
	integer := map[string]bool{}
	for _, tb := range tables.STL() {
		for _, c := range tb.Columns {
			switch strings.ToLower(c.Type) {
			case "bigint", "integer", "smallint":
				integer[c.Name] = true
			}
		}
	}
	qs, err := PanelQueries(root(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		var m query
		_ = json.Unmarshal(q.Target, &m)
		for _, s := range sumOverColumn.FindAllStringSubmatch(m.RawSQL, -1) {
			if integer[strings.ToLower(s[2])] {
				t.Errorf("%s: panel %q: %s adds integer column %s as it is; CAST it AS DECIMAL(38,0)", q.File, q.Title, s[0], s[2])
			}
		}
	}
}
