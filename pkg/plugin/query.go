package plugin

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	gfconfig "github.com/grafana/grafana-plugin-sdk-go/config"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/stlarchive/redshift-stl-archive/pkg/app"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
)

// queries is the query side of an instance, or why it could not start (every query reports it).
type queries struct {
	*app.Queries
	err error
}

// openQueries opens the engine over the configured archive. A failure does not fail the
// instance: the exporter may still run, and queries say what is wrong.
func openQueries(ctx context.Context, cfg config.Config, exp *export.Exporter) *queries {
	q, err := app.OpenQueries(ctx, cfg, app.StoreStatus(exp.Store()))
	return &queries{Queries: q, err: err}
}

func (q *queries) close() {
	if q != nil {
		q.Queries.Close()
	}
}

// queryData answers each query on its own: one query's failure is its own response, and the
// others still answer.
func (d *Datasource) queryData(ctx context.Context, req *backend.QueryDataRequest) *backend.QueryDataResponse {
	resp := backend.NewQueryDataResponse()
	limit := sqlRowLimit(ctx)
	for _, q := range req.Queries {
		resp.Responses[q.RefID] = d.answer(ctx, q, limit)
	}
	return resp
}

// sqlRowLimit is Grafana's SQL row limit (GF_SQL_ROW_LIMIT) from the request's configuration, or
// 0 when Grafana sent none.
func sqlRowLimit(ctx context.Context) int {
	cfg := backend.GrafanaConfigFromContext(ctx)
	if cfg == nil {
		return 0
	}
	if sql, err := cfg.SQL(); err == nil && sql.RowLimit > 0 {
		return int(sql.RowLimit)
	}
	// Some Grafana versions send the row limit without the connection defaults SQL() requires.
	if n, err := strconv.Atoi(cfg.Get(gfconfig.SQLRowLimit)); err == nil && n > 0 {
		return n
	}
	return 0
}

func (d *Datasource) answer(ctx context.Context, q backend.DataQuery, limit int) backend.DataResponse {
	switch {
	case d.cfgErr != nil:
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream,
			"invalid datasource settings: "+d.cfgErr.Error())
	case d.q == nil || d.q.err != nil:
		msg := "the query engine is not available"
		if d.q != nil {
			msg += ": " + d.q.err.Error()
		}
		return backend.ErrDataResponseWithSource(backend.StatusInternal, backend.ErrorSourcePlugin, msg)
	}
	m, err := query.ParseModel(q.JSON, q.QueryType)
	if err != nil {
		return errorResponse(err, "")
	}
	m.RefID = q.RefID
	ans, err := d.q.Service.Run(ctx, query.Request{Model: m, From: q.TimeRange.From, To: q.TimeRange.To,
		Interval: q.Interval, MaxRows: limit})
	if err != nil {
		d.log.Debug("query failed", "refId", q.RefID, "error", err)
		return errorResponse(err, ans.SQL)
	}
	return backend.DataResponse{Frames: ans.Frames}
}

// errorResponse sorts a query's failure by whose fault it is, in Grafana's terms: the query's
// author (refused or invalid SQL, a bad macro or model, the time limit) is downstream; a failure
// to build frames is the plugin's; anything else the engine reports (an unreadable archive
// object) is the archive's, downstream as well. The SQL that ran, when there was one, rides along
// on an empty frame for the query inspector.
func errorResponse(err error, sql string) backend.DataResponse {
	var r backend.DataResponse
	switch {
	case errors.Is(err, duckdb.ErrTimeout):
		r = backend.ErrDataResponseWithSource(backend.StatusTimeout, backend.ErrorSourceDownstream, err.Error())
	case query.IsUserError(err):
		r = backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
	case query.IsFrameError(err):
		r = backend.ErrDataResponseWithSource(backend.StatusInternal, backend.ErrorSourcePlugin, err.Error())
	case errors.Is(err, context.Canceled):
		r = backend.ErrDataResponseWithSource(backend.StatusTimeout, backend.ErrorSourceDownstream, "query cancelled: "+err.Error())
	default:
		r = backend.ErrDataResponseWithSource(backend.StatusInternal, backend.ErrorSourceDownstream, err.Error())
	}
	if sql != "" {
		r.Frames = data.Frames{data.NewFrame("").SetMeta(&data.FrameMeta{ExecutedQueryString: sql})}
	}
	return r
}

// queryResource serves the resources of the query editors; ok is false for paths it does not own.
func (d *Datasource) queryResource(ctx context.Context, path string) (status int, body any, ok bool) {
	switch path {
	case "clusters", "tables", "presets", "macros":
	default:
		return 0, nil, false
	}
	if path == "macros" {
		return http.StatusOK, query.Macros(), true
	}
	if path == "clusters" {
		return http.StatusOK, d.clusters(), true
	}
	if d.q == nil || d.q.err != nil {
		return http.StatusInternalServerError, map[string]string{"error": "the query engine is not available"}, true
	}
	switch path {
	case "presets":
		type preset struct {
			ID          string           `json:"id"`
			Title       string           `json:"title"`
			Description string           `json:"description"`
			Format      string           `json:"format"`
			Columns     []presets.Column `json:"columns"`
			Custom      bool             `json:"custom,omitempty"`
		}
		var out []preset
		for _, p := range d.q.Service.Presets.All() {
			out = append(out, preset{p.ID, p.Title, p.Description, p.Format, p.Columns, p.Custom})
		}
		return http.StatusOK, out, true
	default: // tables
		list, err := d.q.Tables(ctx)
		if err != nil {
			return http.StatusInternalServerError, map[string]string{"error": err.Error()}, true
		}
		type column struct {
			Name string `json:"name"`
			Type string `json:"type"`
		}
		type table struct {
			Name    string   `json:"name"`
			Columns []column `json:"columns"`
		}
		out := make([]table, len(list))
		for i, t := range list {
			out[i].Name = t.Name
			for _, c := range t.Columns {
				out[i].Columns = append(out[i].Columns, column{c.Name, c.Type})
			}
		}
		return http.StatusOK, out, true
	}
}

// clusters are the configured clusters and those the archive holds (clusters since removed from
// the configuration keep their history), sorted.
func (d *Datasource) clusters() []string {
	names := slices.Clone(d.exp.Clusters())
	archived, err := query.ArchivedClusters(d.cfg.Archive.Path)
	if err != nil {
		d.log.Warn("listing archived clusters", "error", err)
	}
	for _, c := range archived {
		if !slices.Contains(names, c) {
			names = append(names, c)
		}
	}
	slices.Sort(names)
	if names == nil {
		names = []string{}
	}
	return names
}
