package plugin_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/plugintest"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
)

func TestMain(m *testing.M) {
	plugintest.BuildInBackground()
	pgtest.Main(m)
}

func settingsFor(t *testing.T, archive string, export bool, clusters ...*simtest.Cluster) plugintest.Settings {
	t.Helper()
	type cl struct {
		Name     string `json:"name"`
		Host     string `json:"host"`
		Port     int    `json:"port"`
		Database string `json:"database"`
		User     string `json:"user"`
		SSLMode  string `json:"sslMode"`
	}
	js := map[string]any{
		"archive": map[string]any{"path": archive},
		"export":  map[string]any{"enabled": export, "interval": "1s", "lag": simtest.Lag.String(), "lease": "2s"},
	}
	secure := map[string]string{}
	var list []cl
	for _, c := range clusters {
		list = append(list, cl{c.Cfg.Name, c.Cfg.Host, c.Cfg.Port, c.Cfg.Database, c.Cfg.User, "disable"})
		secure["password."+c.Cfg.Name] = c.Cfg.Password.Reveal()
	}
	js["clusters"] = list
	raw, err := json.Marshal(js)
	if err != nil {
		t.Fatal(err)
	}
	return plugintest.Settings{JSONData: raw, Secure: secure, Updated: time.Now().UnixMilli()}
}

func TestCheckHealthAsGrafanaRunsThePlugin(t *testing.T) {
	// The valid instance's exporter writes into its archive until the plugin process stops: the
	// folder is made before the host, so it is removed after the host's cleanup killed the
	// plugin (cleanups run last first), never under a running exporter.
	archive := t.TempDir()
	host := plugintest.Start(t, plugintest.Binary(t))
	ctx := context.Background()

	t.Run("valid settings", func(t *testing.T) {
		c := simtest.New(t, "health-ok", 1)
		c.History(t, 10*time.Minute)
		s := settingsFor(t, archive, true, c)
		s.UID = "valid"
		// The instance starts its exporter on the first request; give it a cycle.
		var res *backend.CheckHealthResult
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var err error
			res, err = host.CheckHealth(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			// The first cycle ends with a verification pass (export.verify defaults to on).
			if strings.Contains(res.Message, "verified up to") || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Second)
		}
		if res.Status != backend.HealthStatusOk {
			t.Fatalf("status %v: %s", res.Status, res.Message)
		}
		for _, want := range []string{"writable", "cluster health-ok: reachable", "sees all users' STL rows", "export lag", "verified up to"} {
			if !strings.Contains(res.Message, want) {
				t.Errorf("message lacks %q:\n%s", want, res.Message)
			}
		}
		var details struct {
			Clusters []struct {
				Cluster    string  `json:"cluster"`
				Reachable  bool    `json:"reachable"`
				LagSeconds float64 `json:"lagSeconds"`
				// What verification found: nothing late, nothing unverifiable, nothing different.
				Verification struct {
					VerifiedUpTo *time.Time `json:"verifiedUpTo"`
					LateRows     int64      `json:"lateRows"`
					Unverifiable int        `json:"unverifiable"`
					Differs      int        `json:"differs"`
				} `json:"verification"`
			} `json:"clusters"`
		}
		if err := json.Unmarshal(res.JSONDetails, &details); err != nil || len(details.Clusters) != 1 || !details.Clusters[0].Reachable || details.Clusters[0].LagSeconds < 0 ||
			details.Clusters[0].Verification.VerifiedUpTo == nil || details.Clusters[0].Verification.LateRows != 0 ||
			details.Clusters[0].Verification.Unverifiable != 0 || details.Clusters[0].Verification.Differs != 0 {
			t.Errorf("details %s (%v)", res.JSONDetails, err)
		}
		t.Logf("health: %s", res.Message)
	})

	t.Run("empty settings say what is missing", func(t *testing.T) {
		res, err := host.CheckHealth(ctx, plugintest.Settings{UID: "empty", JSONData: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != backend.HealthStatusError {
			t.Fatalf("status %v", res.Status)
		}
		for _, want := range []string{"jsonData.archive.path", "jsonData.clusters"} {
			if !strings.Contains(res.Message, want) {
				t.Errorf("message lacks %q:\n%s", want, res.Message)
			}
		}
	})

	t.Run("unusable archive path names the field and still checks the clusters", func(t *testing.T) {
		c := simtest.New(t, "health-path", 0)
		file := filepath.Join(t.TempDir(), "a-file")
		if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		s := settingsFor(t, filepath.Join(file, "archive"), true, c)
		s.UID = "badpath"
		res, err := host.CheckHealth(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != backend.HealthStatusError {
			t.Fatalf("status %v: %s", res.Status, res.Message)
		}
		for _, want := range []string{"jsonData.archive.path: cannot create or write the folder", "not a directory", "cluster health-path: reachable"} {
			if !strings.Contains(res.Message, want) {
				t.Errorf("message lacks %q:\n%s", want, res.Message)
			}
		}
	})

	t.Run("wrong password names the cluster and hides the secret", func(t *testing.T) {
		c := simtest.New(t, "health-pw", 0)
		s := settingsFor(t, t.TempDir(), false, c)
		s.UID = "badpw"
		s.Secure["password.health-pw"] = "s3cret-wrong-Password!"
		res, err := host.CheckHealth(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != backend.HealthStatusError {
			t.Fatalf("status %v: %s", res.Status, res.Message)
		}
		if !strings.Contains(res.Message, "cluster health-pw: unreachable") || !strings.Contains(res.Message, "password authentication failed") {
			t.Errorf("message:\n%s", res.Message)
		}
		if strings.Contains(res.Message, "s3cret") || strings.Contains(string(res.JSONDetails), "s3cret") {
			t.Errorf("the secret leaks:\n%s\n%s", res.Message, res.JSONDetails)
		}
	})
}
