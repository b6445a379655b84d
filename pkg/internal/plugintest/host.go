// Package plugintest runs the compiled plugin binary the way Grafana does: it launches the
// executable with hashicorp/go-plugin (handshake, magic cookie, gRPC) and calls its Diagnostics,
// Data and Resource services with requests converted by the plugin SDK, as Grafana's plugin
// client does. Tests use it to see what Grafana would see.
package plugintest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds the plugin executable once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := pgtest.RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "stlarchive-plugin-")
		if err != nil {
			buildErr = err
			return
		}
		pgtest.AtExit(func() { os.RemoveAll(dir) })
		binPath = filepath.Join(dir, "gpx_stlarchive_linux_amd64")
		cmd := exec.Command("go", "build", "-o", binPath, "./pkg")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build plugin: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Host is a running plugin process.
type Host struct {
	client      *goplugin.Client
	diagnostics pluginv2.DiagnosticsClient
	data        pluginv2.DataClient
	resource    pluginv2.ResourceClient
}

// Start launches the plugin binary as Grafana does and connects to its services. The process
// is killed when the test ends.
func Start(t testing.TB, binary string, env ...string) *Host {
	t.Helper()
	cmd := exec.Command(binary)
	// Grafana passes its version and plugin settings in the environment.
	cmd.Env = append(os.Environ(), "GF_VERSION=12.4.0", "GF_PLUGIN_APP_CLIENT_SECRET=", "GF_EDITION=oss")
	cmd.Env = append(cmd.Env, env...)
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: goplugin.HandshakeConfig{
			ProtocolVersion:  grpcplugin.ProtocolVersion,
			MagicCookieKey:   grpcplugin.MagicCookieKey,
			MagicCookieValue: grpcplugin.MagicCookieValue,
		},
		Plugins: map[string]goplugin.Plugin{
			"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
			"resource":    &grpcplugin.ResourceGRPCPlugin{},
			"data":        &grpcplugin.DataGRPCPlugin{},
			"stream":      &grpcplugin.StreamGRPCPlugin{},
		},
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: testWriter{t}, Level: hclog.Info}),
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("start plugin: %v", err)
	}
	h := &Host{client: client}
	for name, dst := range map[string]any{"diagnostics": &h.diagnostics, "data": &h.data, "resource": &h.resource} {
		raw, err := rpc.Dispense(name)
		if err != nil {
			t.Fatalf("dispense %s: %v", name, err)
		}
		switch d := dst.(type) {
		case *pluginv2.DiagnosticsClient:
			*d = raw.(pluginv2.DiagnosticsClient)
		case *pluginv2.DataClient:
			*d = raw.(pluginv2.DataClient)
		case *pluginv2.ResourceClient:
			*d = raw.(pluginv2.ResourceClient)
		}
	}
	return h
}

// PID is the plugin process's id, for tests that watch its resources and its children.
func (h *Host) PID() int {
	if rc := h.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// Settings are the datasource settings Grafana would hold for one datasource.
type Settings struct {
	UID      string
	JSONData []byte
	Secure   map[string]string
	// Updated distinguishes versions of the settings: Grafana makes a new instance when it
	// changes.
	Updated int64
}

// PluginContext is the context Grafana sends with each request for the datasource.
func (s Settings) PluginContext() backend.PluginContext {
	uid := s.UID
	if uid == "" {
		uid = "stlarchive-test"
	}
	return backend.PluginContext{
		OrgID:    1,
		PluginID: config.PluginID,
		DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
			ID: 1, UID: uid, Name: "Redshift STL Archive", Type: config.PluginID,
			JSONData: s.JSONData, DecryptedSecureJSONData: s.Secure,
			Updated: time.UnixMilli(s.Updated),
		},
		GrafanaConfig: backend.NewGrafanaCfg(map[string]string{"GF_SQL_MAX_ROWS": "100000"}),
	}
}

// CheckHealth calls the plugin's CheckHealth.
func (h *Host) CheckHealth(ctx context.Context, s Settings) (*backend.CheckHealthResult, error) {
	resp, err := h.diagnostics.CheckHealth(ctx, &pluginv2.CheckHealthRequest{
		PluginContext: backend.ToProto().PluginContext(s.PluginContext()),
	})
	if err != nil {
		return nil, err
	}
	return backend.FromProto().CheckHealthResponse(resp), nil
}

// QueryData calls the plugin's QueryData.
func (h *Host) QueryData(ctx context.Context, s Settings, headers map[string]string, queries ...backend.DataQuery) (*backend.QueryDataResponse, error) {
	req := &backend.QueryDataRequest{PluginContext: s.PluginContext(), Headers: headers, Queries: queries}
	resp, err := h.data.QueryData(ctx, backend.ToProto().QueryDataRequest(req))
	if err != nil {
		return nil, err
	}
	return backend.FromProto().QueryDataResponse(resp)
}

// CallResource calls a resource route and returns the first response message.
func (h *Host) CallResource(ctx context.Context, s Settings, method, path string) (*backend.CallResourceResponse, error) {
	req := &backend.CallResourceRequest{PluginContext: s.PluginContext(), Method: method, Path: path, URL: path}
	stream, err := h.resource.CallResource(ctx, backend.ToProto().CallResourceRequest(req))
	if err != nil {
		return nil, err
	}
	msg, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	return backend.FromProto().CallResourceResponse(msg), nil
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}
