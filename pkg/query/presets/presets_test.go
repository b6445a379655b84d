package presets

import (
	"strings"
	"testing"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
)

// The ids dashboards and alert rules are written against.
var requiredIDs = []string{"query_volume", "query_duration", "top_queries", "alert_events", "missing_stats",
	"wlm_queue_wait", "scan_volume", "nested_loops", "ddl_audit", "utility_audit", "export_health",
	"ddl_annotations", "alert_annotations", "var_clusters", "var_databases", "var_users", "var_tables",
	"var_service_classes"}

func TestEmbeddedPresetsHaveEveryRequiredID(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range requiredIDs {
		if _, ok := c.Lookup(id); !ok {
			t.Errorf("no preset %q", id)
		}
	}
}

func TestEverySQLPresetFiltersByDayTimeAndClusterInBothDialects(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range c.All() {
		if p.FromStatus() {
			if len(p.SQL) != 0 {
				t.Errorf("%s reads the export state but has SQL", p.ID)
			}
			continue
		}
		for _, d := range config.PresetDialects {
			q, err := p.Query(d)
			if err != nil {
				t.Errorf("%v", err)
				continue
			}
			for _, m := range []string{"$__dayFilter", "$__timeFilter(", "$__clusterFilter"} {
				if !strings.Contains(q, m) {
					t.Errorf("%s (%s) does not use %s", p.ID, d, m)
				}
			}
		}
		if p.Title == "" || p.Description == "" || len(p.Columns) == 0 {
			t.Errorf("%s lacks a title, description or columns", p.ID)
		}
	}
}

func TestOperatorPresetsJoinTheCatalogButCannotTakeABuiltinID(t *testing.T) {
	own := config.Preset{ID: "slow_loads", Title: "Slow loads", Format: "table",
		SQL: map[string]string{"duckdb": "SELECT 1 WHERE $__timeFilter(endtime)"}, Columns: []config.PresetColumn{{Name: "x", Role: "value"}}}
	c, err := New([]config.Preset{own})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := c.Lookup("slow_loads")
	if !ok || !p.Custom || p.Role("x") != RoleValue {
		t.Errorf("operator preset not in the catalog as given: %+v", p)
	}
	if ids := c.IDs(); ids[len(ids)-1] != "slow_loads" {
		t.Errorf("operator presets should come after the built-in ones: %v", ids)
	}
	own.ID = "query_volume"
	if _, err := New([]config.Preset{own}); err == nil || !strings.Contains(err.Error(), `"query_volume" is already defined`) {
		t.Errorf("a preset reusing a built-in id was accepted (err %v)", err)
	}
}
