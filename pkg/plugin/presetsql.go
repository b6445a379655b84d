package plugin

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/stlarchive/redshift-stl-archive/pkg/query"
)

// presetSQL serves GET preset-sql?preset=ID[&from=MS&to=MS&interval=MS&cluster=NAME…]: the
// preset's SQL in the configured engine's dialect, with its macros and expanded, for the query
// editor to show and to turn into an editable SQL query. The range defaults to the last hour.
func (d *Datasource) presetSQL(req *backend.CallResourceRequest) (int, any) {
	if d.q == nil || d.q.err != nil {
		return http.StatusInternalServerError, map[string]string{"error": "the query engine is not available"}
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		return http.StatusBadRequest, map[string]string{"error": "preset-sql: " + err.Error()}
	}
	params := u.Query()
	to := time.Now().UTC()
	from := to.Add(-time.Hour)
	var interval time.Duration
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := params.Get(name); v != "" {
			ms, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return http.StatusBadRequest, map[string]string{"error": "preset-sql: " + name + " must be milliseconds since the epoch, got " + strconv.Quote(v)}
			}
			*dst = time.UnixMilli(ms).UTC()
		}
	}
	if v := params.Get("interval"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 {
			return http.StatusBadRequest, map[string]string{"error": "preset-sql: interval must be milliseconds, got " + strconv.Quote(v)}
		}
		interval = time.Duration(ms) * time.Millisecond
	}
	if !from.Before(to) {
		return http.StatusBadRequest, map[string]string{"error": "preset-sql: from must be before to"}
	}
	out, err := d.q.Service.PresetSQL(params.Get("preset"), from, to, interval, params["cluster"])
	if err != nil {
		if query.IsUserError(err) {
			return http.StatusBadRequest, map[string]string{"error": err.Error()}
		}
		return http.StatusInternalServerError, map[string]string{"error": err.Error()}
	}
	return http.StatusOK, out
}
