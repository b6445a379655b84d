// Package plugin is the Grafana face of the product: it turns datasource settings into an
// instance that runs the exporter in the background while it lives, and answers CheckHealth,
// QueryData and resource calls. It holds no export or query logic of its own.
package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/stlarchive/redshift-stl-archive/pkg/app"
	"github.com/stlarchive/redshift-stl-archive/pkg/catalog"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
)

// Datasource is one instance of the datasource: one configuration, one exporter.
type Datasource struct {
	cfg    config.Config
	cfgErr error
	// problems are the SSM clusters that could not be configured, by name; each fails alone.
	problems map[string]error
	exp      *export.Exporter
	// checker checks the clusters when the archive or state folder is unusable (cfgErr is an
	// *export.PathError): the health check still reports each cluster then.
	checker *export.Exporter
	q       *queries
	log     log.Logger

	catalogMu   sync.Mutex
	catalogErr  error
	catalogDone bool

	stop context.CancelFunc
	done sync.WaitGroup
}

var (
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// NewDatasource makes an instance from its settings and starts its exporter. Invalid settings
// do not fail the instance: CheckHealth and every query report what is wrong with them.
func NewDatasource(ctx context.Context, settings backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	d := &Datasource{log: backend.Logger.With("datasource", settings.UID)}
	d.cfg, d.cfgErr = config.FromSettings(settings.JSONData, settings.DecryptedSecureJSONData)
	if d.cfgErr != nil {
		d.log.Warn("invalid datasource settings", "error", d.cfgErr)
		return d, nil
	}
	exp, fleet, err := app.OpenExporter(ctx, d.cfg, export.Options{Log: d.log})
	if err != nil {
		d.cfgErr = err
		if errors.As(err, new(*export.PathError)) {
			d.checker, _, _ = app.OpenChecker(ctx, d.cfg, export.Options{Log: d.log})
		}
		return d, nil
	}
	d.exp, d.cfg, d.problems = exp, fleet.Config, fleet.Problems
	for _, name := range fleet.ProblemNames() {
		d.log.Error("cluster from SSM not configured", "cluster", name, "error", fleet.Problems[name])
	}
	d.q = openQueries(ctx, d.cfg, exp)
	if d.q.err != nil {
		d.log.Warn("query engine unavailable", "error", d.q.err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	d.stop = cancel
	if a := d.cfg.Query.Athena; d.cfg.Query.Engine == "athena" && a.ManageCatalog {
		d.done.Add(1)
		go func() {
			defer d.done.Done()
			d.ensureCatalog(runCtx)
		}()
	}
	if d.cfg.Export.Enabled {
		d.done.Add(1)
		go func() {
			defer d.done.Done()
			exp.Run(runCtx)
		}()
	}
	return d, nil
}

// ensureCatalog creates or updates the Glue tables Athena reads, once per instance. A failure is
// logged and shown by CheckHealth; queries then fail with Athena's own error.
func (d *Datasource) ensureCatalog(ctx context.Context) {
	// A cluster whose SSM entry is broken for now keeps its history queryable, as with the CLI's
	// catalog command: both must give Glue the same clusters, or each would undo the other.
	clusters := append(d.exp.Clusters(), slices.Sorted(maps.Keys(d.problems))...)
	r, err := app.EnsureCatalog(ctx, d.cfg, clusters)
	d.catalogMu.Lock()
	d.catalogErr, d.catalogDone = err, true
	d.catalogMu.Unlock()
	if err != nil {
		d.log.Error("glue catalog not updated", "error", err)
		return
	}
	d.log.Info("glue catalog ready", "database", r.Database, "created", r.Names(catalog.Created), "updated", r.Names(catalog.Updated))
}

// Dispose stops the exporter and waits for it: Grafana disposes an instance when its settings
// change, and the new instance must not export alongside the old one.
func (d *Datasource) Dispose() {
	if d.stop != nil {
		d.stop()
	}
	d.done.Wait()
	d.q.close()
	if d.exp != nil {
		d.exp.Close()
	}
	if d.checker != nil {
		d.checker.Close()
	}
}

// CheckHealth reports, per cluster, whether it is reachable, which STL rows its user can see
// and how far the export lags; and whether the archive is writable.
func (d *Datasource) CheckHealth(ctx context.Context, req *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	if d.cfgErr != nil {
		msg := "Invalid settings: " + d.cfgErr.Error()
		if d.checker != nil {
			for _, name := range d.checker.Clusters() {
				line, _ := d.checker.CheckCluster(ctx, name).Summary()
				msg += "\n" + line
			}
		}
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: msg}, nil
	}
	type report struct {
		Archive  string                 `json:"archive"`
		Writable bool                   `json:"writable"`
		Clusters []export.ClusterHealth `json:"clusters"`
	}
	r := report{Archive: d.exp.Archive().String()}
	var lines []string
	ok := true
	if err := d.exp.Archive().CheckWritable(ctx); err != nil {
		ok = false
		lines = append(lines, fmt.Sprintf("%s: %v", r.Archive, err))
	} else {
		r.Writable = true
		lines = append(lines, r.Archive+": writable")
	}
	names := d.exp.Clusters()
	r.Clusters = make([]export.ClusterHealth, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Clusters[i] = d.exp.CheckCluster(ctx, name)
		}()
	}
	wg.Wait()
	for _, h := range r.Clusters {
		line, healthy := h.Summary()
		ok = ok && healthy
		lines = append(lines, line)
	}
	for _, name := range slices.Sorted(maps.Keys(d.problems)) {
		ok = false
		lines = append(lines, fmt.Sprintf("cluster %s (SSM): not configured: %v", name, d.problems[name]))
	}
	if d.cfg.Query.Engine == "athena" {
		d.catalogMu.Lock()
		switch {
		case d.catalogErr != nil:
			ok = false
			lines = append(lines, "glue catalog: "+d.catalogErr.Error())
		case d.catalogDone:
			lines = append(lines, "glue catalog "+d.cfg.Query.Athena.Database+": up to date")
		}
		d.catalogMu.Unlock()
	}
	details, _ := json.Marshal(r)
	status := backend.HealthStatusOk
	if !ok {
		status = backend.HealthStatusError
	}
	return &backend.CheckHealthResult{Status: status, Message: strings.Join(lines, "\n"), JSONDetails: details}, nil
}

// QueryData answers SQL, diagnostics and export status queries over the archive; each query
// fails or succeeds on its own.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	return d.queryData(ctx, req), nil
}

// CallResource serves the editors' resources.
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	if d.cfgErr != nil {
		return sendJSON(sender, 400, map[string]string{"error": "invalid settings: " + d.cfgErr.Error()})
	}
	path := strings.Trim(req.Path, "/")
	if status, body, ok := d.queryResource(ctx, path); ok {
		return sendJSON(sender, status, body)
	}
	switch path {
	case "preset-sql":
		status, body := d.presetSQL(req)
		return sendJSON(sender, status, body)
	case "status":
		st, err := export.Status(ctx, d.exp.Store(), time.Now())
		if err != nil {
			return sendJSON(sender, 500, map[string]string{"error": err.Error()})
		}
		return sendJSON(sender, 200, st)
	}
	return sendJSON(sender, 404, map[string]string{"error": "no resource " + req.Path})
}

func sendJSON(sender backend.CallResourceResponseSender, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return sender.Send(&backend.CallResourceResponse{Status: status, Headers: map[string][]string{"Content-Type": {"application/json"}}, Body: body})
}
