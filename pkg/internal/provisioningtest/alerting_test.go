package provisioningtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/macro"
)

// envRef matches a $NAME environment reference of provisioning YAML.
var envRef = regexp.MustCompile(`\$([A-Z][A-Z0-9_]*)`)

func ruleFiles(t *testing.T) []RuleFile {
	t.Helper()
	files, err := RuleFiles(root(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no alert-rule files")
	}
	return files
}

func rules(t *testing.T) []Rule {
	t.Helper()
	var out []Rule
	for _, f := range ruleFiles(t) {
		if f.APIVersion != 1 {
			t.Errorf("%s: apiVersion %d, want 1", f.File, f.APIVersion)
		}
		for _, g := range f.Groups {
			if g.Name == "" || g.Folder == "" || g.OrgID != 1 {
				t.Errorf("%s: group %q needs a name, a folder and orgId 1", f.File, g.Name)
			}
			if _, err := time.ParseDuration(g.Interval); err != nil {
				t.Errorf("%s: group %q interval: %v", f.File, g.Name, err)
			}
			out = append(out, g.Rules...)
		}
	}
	return out
}

// The chain Grafana evaluates: the plugin query A, reduce B over A, threshold C over B, and C
// as the condition.
func TestEveryRuleChainsPluginQueryReduceThreshold(t *testing.T) {
	uids := map[string]bool{}
	for _, r := range rules(t) {
		if r.UID == "" || len(r.UID) > 40 || uids[r.UID] {
			t.Errorf("rule %q: uid %q must be set, unique and at most 40 characters", r.Title, r.UID)
		}
		uids[r.UID] = true
		if r.Condition != "C" || len(r.Data) != 3 {
			t.Errorf("rule %s: condition %q with %d data steps, want C over A → B → C", r.UID, r.Condition, len(r.Data))
			continue
		}
		a, b, c := r.Data[0], r.Data[1], r.Data[2]
		if a.RefID != "A" || a.DatasourceUID != DatasourceUID || a.Model["refId"] != "A" {
			t.Errorf("rule %s: A must query datasource %s, got refId %s uid %s", r.UID, DatasourceUID, a.RefID, a.DatasourceUID)
		}
		if a.RelativeTimeRange.From <= a.RelativeTimeRange.To {
			t.Errorf("rule %s: relativeTimeRange from %d to %d is empty", r.UID, a.RelativeTimeRange.From, a.RelativeTimeRange.To)
		}
		for _, step := range []struct {
			q          RuleQuery
			ref, typ   string
			expression string
		}{{b, "B", "reduce", "A"}, {c, "C", "threshold", "B"}} {
			m := step.q.Model
			if step.q.RefID != step.ref || step.q.DatasourceUID != "__expr__" || m["type"] != step.typ || m["expression"] != step.expression {
				t.Errorf("rule %s: step %s must be a %s expression over %s, got %v", r.UID, step.ref, step.typ, step.expression, m)
			}
		}
		if _, ok := b.Model["reducer"].(string); !ok {
			t.Errorf("rule %s: reduce without a reducer", r.UID)
		}
		if conds, ok := c.Model["conditions"].([]any); !ok || len(conds) == 0 {
			t.Errorf("rule %s: threshold without conditions", r.UID)
		}
		if !slices.Contains([]string{"NoData", "Alerting", "OK", "KeepLast"}, r.NoDataState) ||
			!slices.Contains([]string{"Error", "Alerting", "OK", "KeepLast"}, r.ExecErrState) {
			t.Errorf("rule %s: noDataState %q execErrState %q", r.UID, r.NoDataState, r.ExecErrState)
		}
		if _, err := time.ParseDuration(r.For); err != nil {
			t.Errorf("rule %s: for: %v", r.UID, err)
		}
		if r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
			t.Errorf("rule %s: needs a summary annotation and a severity label", r.UID)
		}
	}
}

func TestAlertQueriesAreValidQueryModelsWithoutVariables(t *testing.T) {
	qs, err := AlertQueries(root(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != len(rules(t)) {
		t.Fatalf("%d alert queries for %d rules", len(qs), len(rules(t)))
	}
	env := macro.Env{From: time.Now().Add(-15 * time.Minute), To: time.Now(), Interval: time.Minute}
	for _, q := range qs {
		for _, p := range checkQuery(q, "time_series") {
			t.Errorf("rule %s: %s", q.Dashboard, p)
		}
		// Alerting needs numeric series labelled by cluster.
		if !q.TimeSeries {
			t.Errorf("rule %s: query must ask for format time_series", q.Dashboard)
		}
		// Grafana applies no template variables to alert queries.
		names, err := VariableNames(q.Target)
		if err != nil {
			t.Fatal(err)
		}
		if len(names) > 0 {
			t.Errorf("rule %s: refers to template variables %v, which alerting never fills", q.Dashboard, names)
		}
		var m query
		if err := json.Unmarshal(q.Target, &m); err != nil {
			t.Fatal(err)
		}
		if len(m.Clusters) != 0 {
			t.Errorf("rule %s: clusters %v; an alert rule covers every cluster", q.Dashboard, m.Clusters)
		}
		if m.RawSQL != "" {
			// The rule runs without a panel interval: a $__timeGroup needs its own.
			if _, err := macro.Expand(m.RawSQL, macro.DuckDB, macro.Env{From: env.From, To: env.To}); err != nil {
				t.Errorf("rule %s: %v", q.Dashboard, err)
			}
		}
	}
}

func TestRulesCoverSpikesLagAndGaps(t *testing.T) {
	qs, err := AlertQueries(root(t))
	if err != nil {
		t.Fatal(err)
	}
	byRule := map[string]query{}
	for _, q := range qs {
		var m query
		if err := json.Unmarshal(q.Target, &m); err != nil {
			t.Fatal(err)
		}
		byRule[q.Dashboard] = m
	}
	spike := byRule["stlarchive-alert-event-spike"]
	if !(spike.Preset == "alert_events" || strings.Contains(spike.RawSQL, "stl_alert_event_log")) {
		t.Errorf("the STL alert event spike rule must count stl_alert_event_log rows, got %+v", spike)
	}
	for _, uid := range []string{"stlarchive-export-lag", "stlarchive-export-gap", "stlarchive-late-rows", "stlarchive-unverified-windows", "stlarchive-unplaced-rows"} {
		if byRule[uid].QueryType != "status" {
			t.Errorf("rule %s must read the export status, got %+v", uid, byRule[uid])
		}
	}
	// Rows later than the lag, and windows the verification could not prove equal, page.
	for uid, metric := range map[string]string{"stlarchive-late-rows": "late_rows", "stlarchive-unverified-windows": "unverified_windows", "stlarchive-unplaced-rows": "unplaced_rows"} {
		if byRule[uid].Metric != metric {
			t.Errorf("rule %s must threshold the status metric %s, got %q", uid, metric, byRule[uid].Metric)
		}
	}
}

func TestNotificationPolicyRoutesToDefinedContactPoints(t *testing.T) {
	var cps struct {
		APIVersion    int `yaml:"apiVersion"`
		ContactPoints []struct {
			Name      string `yaml:"name"`
			Receivers []struct {
				UID      string         `yaml:"uid"`
				Type     string         `yaml:"type"`
				Settings map[string]any `yaml:"settings"`
			} `yaml:"receivers"`
		} `yaml:"contactPoints"`
	}
	type route struct {
		Receiver string  `yaml:"receiver"`
		Routes   []route `yaml:"routes"`
	}
	var pol struct {
		APIVersion int     `yaml:"apiVersion"`
		Policies   []route `yaml:"policies"`
	}
	dir := filepath.Join(root(t), "alerting")
	if err := decodeYAML(filepath.Join(dir, "contact-points.yaml"), &cps); err != nil {
		t.Fatal(err)
	}
	if err := decodeYAML(filepath.Join(dir, "policies.yaml"), &pol); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, cp := range cps.ContactPoints {
		names[cp.Name] = true
		for _, r := range cp.Receivers {
			// The example must not look like a working destination.
			if url, _ := r.Settings["url"].(string); r.Type == "webhook" && !strings.Contains(url, ".invalid") {
				t.Errorf("contact point %s: example webhook %q should use a reserved .invalid host", cp.Name, url)
			}
		}
	}
	var walk func(route)
	walk = func(r route) {
		if r.Receiver != "" && !names[r.Receiver] {
			t.Errorf("policy routes to %q, which no contact point defines", r.Receiver)
		}
		for _, c := range r.Routes {
			walk(c)
		}
	}
	if len(pol.Policies) == 0 {
		t.Fatal("no policy")
	}
	for _, p := range pol.Policies {
		if p.Receiver == "" {
			t.Error("the root policy needs a receiver")
		}
		walk(p)
	}
}

func TestComposeMountsWhatGrafanaNeeds(t *testing.T) {
	r := root(t)
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Command     yaml.Node         `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := decodeYAML(filepath.Join(filepath.Dir(r), "docker-compose.yaml"), &compose); err != nil {
		t.Fatal(err)
	}
	grafana, ok := compose.Services["grafana"]
	if !ok || !strings.HasPrefix(grafana.Image, "grafana/grafana") {
		t.Fatalf("no grafana service on the grafana/grafana image: %+v", grafana)
	}
	for _, want := range []string{
		"./dist:/var/lib/grafana/plugins/" + DatasourceType,
		"./provisioning/datasources:" + GrafanaProvisioningPath + "/datasources",
		"./provisioning/dashboards:" + GrafanaProvisioningPath + "/dashboards",
		"./provisioning/alerting:" + GrafanaProvisioningPath + "/alerting",
	} {
		if !slices.ContainsFunc(grafana.Volumes, func(v string) bool { return strings.TrimSuffix(v, ":ro") == want }) {
			t.Errorf("grafana service does not mount %s", want)
		}
	}
	if !strings.Contains(grafana.Environment["GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"], DatasourceType) {
		t.Error("grafana service does not allow the unsigned plugin")
	}
	// Every $VAR of the datasource provisioning must be set, or Grafana expands it to "".
	ds, err := os.ReadFile(filepath.Join(r, "datasources", "stlarchive.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var vars [][]string
	for _, line := range strings.Split(string(ds), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			vars = append(vars, envRef.FindAllStringSubmatch(line, -1)...)
		}
	}
	if len(vars) == 0 {
		t.Fatal("the datasource provisioning uses no environment variables; test is stale")
	}
	for _, v := range vars {
		if _, ok := grafana.Environment[v[1]]; !ok {
			t.Errorf("grafana service does not set %s, which the datasource provisioning reads", v[1])
		}
	}
	pg, ok := compose.Services["postgres"]
	if !ok || pg.Image != "postgres:15" || pg.Environment["POSTGRES_PASSWORD"] != grafana.Environment["STLARCHIVE_DEMO_PASSWORD"] {
		t.Errorf("postgres service must be postgres:15 with the demo password: %+v", pg)
	}
	sim, ok := compose.Services["simulator"]
	var cmd []string
	if ok {
		_ = sim.Command.Decode(&cmd)
	}
	if !slices.Contains(cmd, "simulate") || !slices.Contains(cmd, "--config") {
		t.Errorf("simulator service must run stlarchive simulate --config: %v", cmd)
	}
}
