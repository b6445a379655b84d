// Package query answers queries over the archive: it reads the query model the frontend and alert
// rules send, picks a preset or takes the raw SQL, expands macros for the engine's dialect, runs
// it under the time and row limits, and turns the result into Grafana data frames (wide time
// series that alerting accepts, tables, annotations, variables). It owns no engine (package
// duckdb does), no macro syntax (package macro) and no preset definitions (package presets); it
// never reads the export state itself, but is handed the status rows by its caller.
package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
)

// Query types of the model.
const (
	TypeSQL         = "sql"
	TypeDiagnostics = "diagnostics"
	TypeStatus      = "status"
)

// DefaultPreset is what a query that sets nothing shows.
const DefaultPreset = "query_volume"

// ErrBadQuery marks a query model that cannot be answered as written: an unknown preset, query
// type or format, an invalid cluster name. It is always the query author's fault.
var ErrBadQuery = errors.New("bad query")

func badQuery(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadQuery, fmt.Sprintf(format, a...))
}

// Model is the query JSON of the frontend and of alert rules.
type Model struct {
	RefID     string   `json:"refId"`
	QueryType string   `json:"queryType"`
	RawSQL    string   `json:"rawSql"`
	Format    string   `json:"format"`
	Preset    string   `json:"preset"`
	Clusters  []string `json:"clusters"`
	// Limit caps the rows of this query below the datasource's and Grafana's limits.
	Limit int `json:"limit"`
	// Metric picks one series of a status query in time_series format: lag_seconds or gaps.
	// Alert rules need it: alerting tells series apart by their labels alone.
	Metric string `json:"metric,omitempty"`
}

// ParseModel decodes a query's JSON. queryType is the query type Grafana passes beside the JSON,
// which wins when the JSON has none.
func ParseModel(raw []byte, queryType string) (Model, error) {
	var m Model
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			return m, badQuery("query model: %v", err)
		}
	}
	if m.QueryType == "" {
		m.QueryType = queryType
	}
	return m, nil
}

// clusterRe is the configuration's rule for cluster names. A value outside it cannot name a
// cluster; refusing it says so instead of matching nothing.
var clusterRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// variableRe is a template variable Grafana did not substitute: alert rules run without the
// frontend, so "$cluster" or "${cluster:csv}" reaches the backend as it was typed.
var variableRe = regexp.MustCompile(`^\$(\{[^}]*\}|\w+|\[\[[^\]]*\]\])$`)

// Normalize applies the defaults the frontend would, so that alert requests (no frontend, no
// template variables applied) behave like panels: no query type with a preset means
// diagnostics, nothing at all means the query_volume preset, no clusters (or an unsubstituted
// variable, or "All") means every cluster. The preset's own format applies unless the model sets
// one.
func Normalize(m Model, catalog *presets.Catalog) (Model, *presets.Preset, error) {
	switch m.QueryType {
	case "":
		if strings.TrimSpace(m.RawSQL) != "" && m.Preset == "" {
			m.QueryType = TypeSQL
		} else {
			m.QueryType = TypeDiagnostics
		}
	case TypeSQL, TypeDiagnostics, TypeStatus:
	default:
		return m, nil, badQuery("unknown query type %q (sql, diagnostics or status)", m.QueryType)
	}
	switch m.Metric {
	case "", MetricLag, MetricGaps, MetricLateRows, MetricUnverified, MetricUnplaced:
	default:
		return m, nil, badQuery("unknown status metric %q (%s, %s, %s, %s or %s)", m.Metric, MetricLag, MetricGaps, MetricLateRows, MetricUnverified, MetricUnplaced)
	}
	clusters, err := normalizeClusters(m.Clusters)
	if err != nil {
		return m, nil, err
	}
	m.Clusters = clusters
	if m.Limit < 0 {
		return m, nil, badQuery("limit %d is negative", m.Limit)
	}
	var preset *presets.Preset
	switch m.QueryType {
	case TypeDiagnostics:
		if m.Preset == "" {
			m.Preset = DefaultPreset
		}
		p, ok := catalog.Lookup(m.Preset)
		if !ok {
			return m, nil, badQuery("no preset %q; known: %s", m.Preset, strings.Join(catalog.IDs(), ", "))
		}
		preset = &p
		if m.Format == "" {
			m.Format = p.Format
		}
	case TypeSQL:
		if strings.TrimSpace(m.RawSQL) == "" {
			return m, nil, badQuery("the SQL query is empty")
		}
		if m.Format == "" {
			m.Format = presets.Table
		}
	case TypeStatus:
		if m.Format == "" {
			m.Format = presets.Table
		}
	}
	switch m.Format {
	case presets.TimeSeries, presets.Table, presets.Annotations, presets.Variable:
	default:
		return m, nil, badQuery("unknown format %q (time_series, table, annotations or variable)", m.Format)
	}
	return m, preset, nil
}

// normalizeClusters returns nil for all clusters, or the validated names. A value may hold
// several names as Grafana formats a multi-value variable ("a,b" or "{a,b}").
func normalizeClusters(in []string) ([]string, error) {
	var out []string
	var split []string
	for _, c := range in {
		c = strings.TrimSpace(c)
		if strings.HasPrefix(c, "{") && strings.HasSuffix(c, "}") {
			c = c[1 : len(c)-1]
		}
		if variableRe.MatchString(c) {
			split = append(split, c) // "${cluster:csv}" holds a comma-free name
			continue
		}
		split = append(split, strings.Split(c, ",")...)
	}
	for _, c := range split {
		c = strings.TrimSpace(c)
		switch {
		case c == "":
			continue
		case c == "$__all" || c == "All" || c == "*" || variableRe.MatchString(c):
			return nil, nil
		case !clusterRe.MatchString(c):
			return nil, badQuery("cluster %q is not a cluster name (lower-case letters, digits, '-' and '_')", c)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
