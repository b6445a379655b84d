// Package provisioningtest reads what the repository provisions into Grafana — the dashboards
// under provisioning/dashboards and the alert rules under provisioning/alerting — and hands out
// every query in them exactly as Grafana would send it to the plugin's backend: panel targets,
// alert-rule queries, template-variable queries and annotation queries. The end-to-end test runs
// them against the plugin binary; this package's own tests validate the files offline. It reads
// files only and never changes them.
package provisioningtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

const (
	// DatasourceUID and DatasourceType identify the provisioned datasource
	// (provisioning/datasources/stlarchive.yaml) that alert rules use: a rule needs a concrete
	// uid. Dashboards use DatasourceVariable instead.
	DatasourceUID  = "stlarchive"
	DatasourceType = "stlarchive-redshift-datasource"

	// DatasourceVariable is the uid every datasource reference of a dashboard holds: the
	// dashboard's variable of type datasource (named datasource, of DatasourceType), so the
	// dashboard works with whichever datasource of the plugin it lands next to.
	DatasourceVariable = "${datasource}"

	// GrafanaProvisioningPath is where docker-compose.yaml mounts the provisioning folders
	// inside the Grafana container; provider paths are written against it.
	GrafanaProvisioningPath = "/etc/grafana/provisioning"
)

// SampleQuerySQL picks a query id of the archive for the query-detail dashboard's "query"
// variable, which users fill by following a link from a query table: the latest query in the
// time range that has a plan (statements such as utility commands have none).
const SampleQuerySQL = `SELECT CAST(max(q.query) AS VARCHAR) AS query FROM stl_query q
WHERE $__dayFilter(q.day) AND $__timeFilter(q.endtime) AND $__clusterFilter(q.cluster)
  AND EXISTS (SELECT 1 FROM stl_explain e WHERE e.cluster = q.cluster AND e.query = q.query AND $__dayFilter(e.day))`

// Kind says where in the provisioning a query comes from.
type Kind string

const (
	KindPanel      Kind = "panel"
	KindAlert      Kind = "alert"
	KindVariable   Kind = "variable"
	KindAnnotation Kind = "annotation"
)

// Query is one query Grafana sends to the backend, with where it came from.
type Query struct {
	Kind Kind
	// File is the file that holds the query, relative to the provisioning root.
	File string
	// Dashboard is the dashboard uid; for alert rules, the rule uid.
	Dashboard string
	// Title is the panel title, the rule title, the variable name or the annotation name.
	Title string
	// PanelType is the panel plugin ("timeseries", "table", "stat" …); empty for other kinds.
	PanelType string
	// RefID is the query's refId.
	RefID string
	// Target is the query model as stored: for panels and annotations it still holds template
	// variables such as "$cluster" (see Substitute); alert queries never do.
	Target json.RawMessage
	// TimeSeries is true when the query asks for a time series (format "time_series"), which
	// the backend must answer with wide frames of numeric fields labelled by cluster.
	TimeSeries bool
	// From and To are the alert rule's relative time range (how far before now); zero for
	// dashboard queries, which take the dashboard's time range.
	From, To time.Duration
}

// Root finds the repository's provisioning directory by walking up from the working directory,
// so tests in any package can call it.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find provisioning: %w", err)
	}
	for {
		p := filepath.Join(dir, "provisioning")
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				return p, nil
			}
			return "", fmt.Errorf("find provisioning: %s has go.mod but no provisioning directory", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find provisioning: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Provider is one dashboard provider of provisioning/dashboards/*.yaml.
type Provider struct {
	Name    string `yaml:"name"`
	OrgID   int    `yaml:"orgId"`
	Type    string `yaml:"type"`
	Folder  string `yaml:"folder"`
	Options struct {
		Path                      string `yaml:"path"`
		FoldersFromFilesStructure bool   `yaml:"foldersFromFilesStructure"`
	} `yaml:"options"`
	// File is the provider file, relative to the provisioning root.
	File string `yaml:"-"`
	// Dir is options.path translated to the repository: the folder Grafana loads.
	Dir string `yaml:"-"`
}

// Providers reads every dashboard provider under root/dashboards and resolves its path from the
// container (GrafanaProvisioningPath) to the repository.
func Providers(root string) ([]Provider, error) {
	files, err := yamlFiles(filepath.Join(root, "dashboards"))
	if err != nil {
		return nil, fmt.Errorf("read dashboard providers: %w", err)
	}
	var out []Provider
	for _, f := range files {
		var doc struct {
			APIVersion int        `yaml:"apiVersion"`
			Providers  []Provider `yaml:"providers"`
		}
		if err := decodeYAML(f, &doc); err != nil {
			return nil, fmt.Errorf("read dashboard providers: %w", err)
		}
		rel, _ := filepath.Rel(root, f)
		for _, p := range doc.Providers {
			p.File = rel
			inside := path.Clean(p.Options.Path)
			relPath, ok := strings.CutPrefix(inside, GrafanaProvisioningPath+"/")
			if !ok {
				return nil, fmt.Errorf("read dashboard providers: %s: provider %q path %q is outside %s, where docker-compose.yaml mounts provisioning/",
					rel, p.Name, p.Options.Path, GrafanaProvisioningPath)
			}
			p.Dir = filepath.Join(root, filepath.FromSlash(relPath))
			out = append(out, p)
		}
	}
	return out, nil
}

// Dashboard is one provisioned dashboard file.
type Dashboard struct {
	// File is relative to the provisioning root.
	File  string
	UID   string
	Title string
	// JSON is the file's content.
	JSON json.RawMessage
}

// Dashboards reads every dashboard JSON file in the folders the providers point at, in file
// name order.
func Dashboards(root string) ([]Dashboard, error) {
	providers, err := Providers(root)
	if err != nil {
		return nil, err
	}
	var out []Dashboard
	for _, p := range providers {
		matches, err := filepath.Glob(filepath.Join(p.Dir, "*.json"))
		if err != nil {
			return nil, fmt.Errorf("list dashboards of provider %q: %w", p.Name, err)
		}
		sort.Strings(matches)
		for _, m := range matches {
			raw, err := os.ReadFile(m)
			if err != nil {
				return nil, fmt.Errorf("read dashboard: %w", err)
			}
			var head struct {
				UID   string `json:"uid"`
				Title string `json:"title"`
			}
			if err := json.Unmarshal(raw, &head); err != nil {
				return nil, fmt.Errorf("read dashboard %s: %w", m, err)
			}
			rel, _ := filepath.Rel(root, m)
			out = append(out, Dashboard{File: rel, UID: head.UID, Title: head.Title, JSON: raw})
		}
	}
	return out, nil
}

// dashboardModel is the part of the dashboard JSON model that holds queries.
type dashboardModel struct {
	UID        string       `json:"uid"`
	Panels     []panelModel `json:"panels"`
	Templating struct {
		List []variableModel `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []annotationModel `json:"list"`
	} `json:"annotations"`
}

type panelModel struct {
	ID         int               `json:"id"`
	Type       string            `json:"type"`
	Title      string            `json:"title"`
	Datasource json.RawMessage   `json:"datasource"`
	Targets    []json.RawMessage `json:"targets"`
	// Panels holds the panels of a collapsed row.
	Panels []panelModel `json:"panels"`
}

type variableModel struct {
	Type       string          `json:"type"`
	Name       string          `json:"name"`
	Datasource json.RawMessage `json:"datasource"`
	Query      json.RawMessage `json:"query"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
}

type annotationModel struct {
	Name       string          `json:"name"`
	BuiltIn    int             `json:"builtIn"`
	Datasource json.RawMessage `json:"datasource"`
	Target     json.RawMessage `json:"target"`
}

// targetHead is what this package needs to know of a query model.
type targetHead struct {
	RefID  string `json:"refId"`
	Format string `json:"format"`
}

func parseDashboard(d Dashboard) (dashboardModel, error) {
	var m dashboardModel
	if err := json.Unmarshal(d.JSON, &m); err != nil {
		return m, fmt.Errorf("read dashboard %s: %w", d.File, err)
	}
	return m, nil
}

// flattenPanels lists the panels of a dashboard, those inside collapsed rows included.
func flattenPanels(panels []panelModel) []panelModel {
	var out []panelModel
	for _, p := range panels {
		out = append(out, p)
		out = append(out, flattenPanels(p.Panels)...)
	}
	return out
}

func newQuery(kind Kind, file, dashboard, title string, target json.RawMessage) (Query, error) {
	var h targetHead
	if err := json.Unmarshal(target, &h); err != nil {
		return Query{}, fmt.Errorf("%s: %s %q: query is not a JSON object: %w", file, kind, title, err)
	}
	return Query{Kind: kind, File: file, Dashboard: dashboard, Title: title, RefID: h.RefID,
		Target: target, TimeSeries: h.Format == "time_series"}, nil
}

// PanelQueries lists every target of every panel of every provisioned dashboard.
func PanelQueries(root string) ([]Query, error) {
	return fromDashboards(root, func(d Dashboard, m dashboardModel) ([]Query, error) {
		var out []Query
		for _, p := range flattenPanels(m.Panels) {
			for _, t := range p.Targets {
				q, err := newQuery(KindPanel, d.File, m.UID, p.Title, t)
				if err != nil {
					return nil, err
				}
				q.PanelType = p.Type
				out = append(out, q)
			}
		}
		return out, nil
	})
}

// Variables lists the query of every query variable of every provisioned dashboard. Its Title
// is the variable name.
func Variables(root string) ([]Query, error) {
	return fromDashboards(root, func(d Dashboard, m dashboardModel) ([]Query, error) {
		var out []Query
		for _, v := range m.Templating.List {
			if v.Type != "query" {
				continue
			}
			q, err := newQuery(KindVariable, d.File, m.UID, v.Name, v.Query)
			if err != nil {
				return nil, err
			}
			out = append(out, q)
		}
		return out, nil
	})
}

// Annotations lists the query of every annotation of every provisioned dashboard, except
// Grafana's built-in one, which does not reach the plugin.
func Annotations(root string) ([]Query, error) {
	return fromDashboards(root, func(d Dashboard, m dashboardModel) ([]Query, error) {
		var out []Query
		for _, a := range m.Annotations.List {
			if a.BuiltIn != 0 {
				continue
			}
			q, err := newQuery(KindAnnotation, d.File, m.UID, a.Name, a.Target)
			if err != nil {
				return nil, err
			}
			out = append(out, q)
		}
		return out, nil
	})
}

func fromDashboards(root string, each func(Dashboard, dashboardModel) ([]Query, error)) ([]Query, error) {
	dashboards, err := Dashboards(root)
	if err != nil {
		return nil, err
	}
	var out []Query
	for _, d := range dashboards {
		m, err := parseDashboard(d)
		if err != nil {
			return nil, err
		}
		qs, err := each(d, m)
		if err != nil {
			return nil, err
		}
		out = append(out, qs...)
	}
	return out, nil
}

// RuleFile is one alert-rule provisioning file.
type RuleFile struct {
	APIVersion int         `yaml:"apiVersion"`
	Groups     []RuleGroup `yaml:"groups"`
	// File is relative to the provisioning root.
	File string `yaml:"-"`
}

// RuleGroup is one evaluation group of alert rules.
type RuleGroup struct {
	OrgID    int    `yaml:"orgId"`
	Name     string `yaml:"name"`
	Folder   string `yaml:"folder"`
	Interval string `yaml:"interval"`
	Rules    []Rule `yaml:"rules"`
}

// Rule is one Grafana-managed alert rule.
type Rule struct {
	UID          string            `yaml:"uid"`
	Title        string            `yaml:"title"`
	Condition    string            `yaml:"condition"`
	Data         []RuleQuery       `yaml:"data"`
	NoDataState  string            `yaml:"noDataState"`
	ExecErrState string            `yaml:"execErrState"`
	For          string            `yaml:"for"`
	Annotations  map[string]string `yaml:"annotations"`
	Labels       map[string]string `yaml:"labels"`
}

// RuleQuery is one step of a rule's data chain: a datasource query or an expression.
type RuleQuery struct {
	RefID             string `yaml:"refId"`
	DatasourceUID     string `yaml:"datasourceUid"`
	RelativeTimeRange struct {
		From int `yaml:"from"`
		To   int `yaml:"to"`
	} `yaml:"relativeTimeRange"`
	// Model is the query JSON the datasource (or the expression engine) receives.
	Model map[string]any `yaml:"model"`
}

// RuleFiles reads every alert-rule file (those with groups) under root/alerting.
func RuleFiles(root string) ([]RuleFile, error) {
	files, err := yamlFiles(filepath.Join(root, "alerting"))
	if err != nil {
		return nil, fmt.Errorf("read alert rules: %w", err)
	}
	var out []RuleFile
	for _, f := range files {
		var rf RuleFile
		if err := decodeYAML(f, &rf); err != nil {
			return nil, fmt.Errorf("read alert rules: %w", err)
		}
		if len(rf.Groups) == 0 {
			continue // contact points or policies
		}
		rf.File, _ = filepath.Rel(root, f)
		out = append(out, rf)
	}
	return out, nil
}

// AlertQueries lists the datasource queries of every provisioned alert rule that go to this
// plugin (datasourceUid DatasourceUID), with the rule's relative time range. Expressions
// (reduce, threshold …) run inside Grafana and are not listed.
func AlertQueries(root string) ([]Query, error) {
	files, err := RuleFiles(root)
	if err != nil {
		return nil, err
	}
	var out []Query
	for _, f := range files {
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				for _, d := range r.Data {
					if d.DatasourceUID != DatasourceUID {
						continue
					}
					raw, err := json.Marshal(d.Model)
					if err != nil {
						return nil, fmt.Errorf("%s: rule %q query %s: %w", f.File, r.UID, d.RefID, err)
					}
					q, err := newQuery(KindAlert, f.File, r.UID, r.Title, raw)
					if err != nil {
						return nil, err
					}
					q.RefID = d.RefID
					q.From = time.Duration(d.RelativeTimeRange.From) * time.Second
					q.To = time.Duration(d.RelativeTimeRange.To) * time.Second
					out = append(out, q)
				}
			}
		}
	}
	return out, nil
}

func yamlFiles(dir string) ([]string, error) {
	var out []string
	for _, pattern := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no YAML files in %s", dir)
	}
	sort.Strings(out)
	return out, nil
}

func decodeYAML(file string, v any) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(file), err)
	}
	return nil
}
