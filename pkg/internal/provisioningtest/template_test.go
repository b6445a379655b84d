package provisioningtest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestSubstituteExpandsVariablesAsTheFrontendDoes(t *testing.T) {
	values := map[string][]string{"cluster": {"east", "west"}, "service_class": {"6", "o'brien"}, "one": {"x"}, "query": {"1' OR '1'='1"}}
	tests := []struct {
		name         string
		in           string
		wantSQL      string
		wantClusters []string
	}{
		{"cluster list expands to its values",
			`{"refId":"A","clusters":["$cluster"]}`, "", []string{"east", "west"}},
		{"braced reference and duplicates",
			`{"refId":"A","clusters":["${cluster}","east","",  "$one"]}`, "", []string{"east", "west", "x"}},
		{"raw SQL gets quoted literals with quotes doubled",
			`{"refId":"A","rawSql":"WHERE c IN ($service_class) AND x = $one"}`, "WHERE c IN ('6','o''brien') AND x = 'x'", nil},
		{"a quoted single-value reference stays one literal",
			`{"refId":"A","rawSql":"WHERE CAST(query AS VARCHAR) = '$query' AND q = '${one}'"}`, "WHERE CAST(query AS VARCHAR) = '1'' OR ''1''=''1' AND q = 'x'", nil},
		{"macros and built-ins stay",
			`{"refId":"A","rawSql":"SELECT $__timeGroup(t, '5m') WHERE $__timeFilter(t) AND $__clusterFilter"}`,
			"SELECT $__timeGroup(t, '5m') WHERE $__timeFilter(t) AND $__clusterFilter", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Substitute(json.RawMessage(tt.in), values)
			if err != nil {
				t.Fatal(err)
			}
			var got query
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if got.RawSQL != tt.wantSQL || !slices.Equal(got.Clusters, tt.wantClusters) || got.RefID != "A" {
				t.Errorf("got sql %q clusters %v refId %q, want %q %v A", got.RawSQL, got.Clusters, got.RefID, tt.wantSQL, tt.wantClusters)
			}
		})
	}
}

func TestSubstituteRefusesAVariableWithoutValue(t *testing.T) {
	for _, in := range []string{`{"clusters":["$region"]}`, `{"rawSql":"SELECT $region"}`} {
		if _, err := Substitute(json.RawMessage(in), map[string][]string{"cluster": {"a"}}); err == nil || !strings.Contains(err.Error(), "region") {
			t.Errorf("%s: got %v, want an error naming region", in, err)
		}
	}
}

// Every dashboard query can be made ready to send with the values of its dashboard's
// variables, which is what the end-to-end test does.
func TestEveryDashboardQuerySubstitutesWithClusterAndServiceClass(t *testing.T) {
	values := map[string][]string{"cluster": {"demo-east"}, "service_class": {"6"}, "query": {"42"}}
	total := 0
	for _, list := range []func(string) ([]Query, error){PanelQueries, Variables, Annotations} {
		qs, err := list(root(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			total++
			out, err := Substitute(q.Target, values)
			if err != nil {
				t.Errorf("%s: %s %q: %v", q.File, q.Kind, q.Title, err)
				continue
			}
			if names, _ := VariableNames(out); len(names) > 0 {
				t.Errorf("%s: %s %q: still refers to %v", q.File, q.Kind, q.Title, names)
			}
		}
	}
	// 5 dashboards: panels, a cluster variable each, a service class variable, two annotations.
	if total < 30 {
		t.Errorf("only %d dashboard queries listed", total)
	}
}

func TestQueriesCarryWhereTheyComeFrom(t *testing.T) {
	qs, err := PanelQueries(root(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if q.Kind != KindPanel || q.File == "" || q.Dashboard == "" || q.Title == "" || q.RefID == "" || q.PanelType == "" {
			t.Errorf("incomplete panel query %+v", q)
		}
	}
	alerts, err := AlertQueries(root(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range alerts {
		if q.Kind != KindAlert || q.From <= q.To || !q.TimeSeries {
			t.Errorf("alert query %s: kind %s range %v..%v time series %v", q.Dashboard, q.Kind, q.From, q.To, q.TimeSeries)
		}
	}
}
