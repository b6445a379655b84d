package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestPasswordsNeverPrint(t *testing.T) {
	cfg, err := FromSettings([]byte(fullExample), map[string]string{"password.prod-east": secretValue})
	if err != nil {
		t.Fatal(err)
	}
	var outputs = map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%T"} {
		outputs["fmt "+verb+" config"] = fmt.Sprintf(verb, cfg)
		outputs["fmt "+verb+" cluster"] = fmt.Sprintf(verb, cfg.Clusters[0])
		outputs["fmt "+verb+" &cluster"] = fmt.Sprintf(verb, &cfg.Clusters[0])
		outputs["fmt "+verb+" secret"] = fmt.Sprintf(verb, cfg.Clusters[0].Password)
	}
	outputs["String"] = cfg.String()
	js, _ := json.Marshal(cfg)
	outputs["json"] = string(js)
	ym, _ := yaml.Marshal(cfg)
	outputs["yaml"] = string(ym)
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("text", "cfg", cfg, "cluster", cfg.Clusters[0], "pw", cfg.Clusters[0].Password)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("json", "cfg", cfg, "cluster", cfg.Clusters[0], "pw", cfg.Clusters[0].Password)
	outputs["slog"] = logs.String()

	for what, out := range outputs {
		if strings.Contains(out, secretValue) || strings.Contains(out, fmt.Sprintf("%x", secretValue)) {
			t.Errorf("%s shows the password: %s", what, out)
		}
	}
	if !strings.Contains(outputs["fmt %+v cluster"], "Password:***") {
		t.Errorf("cluster prints without a redacted password: %s", outputs["fmt %+v cluster"])
	}
}

func TestStringSummarisesTheConfiguration(t *testing.T) {
	cfg, err := FromSettings([]byte(fullExample), map[string]string{"password.prod-east": secretValue})
	if err != nil {
		t.Fatal(err)
	}
	want := "archive=/var/lib/grafana/stl-archive state=/var/lib/grafana/stl-archive/.state/export.db " +
		"export=on(interval=5m0s lag=1m0s jitter=30s concurrency=4 timeout=10m0s queryGroup=stlarchive tables=stl_query,stl_scan) " +
		"query=duckdb(timeout=30s maxRows=100000) " +
		"clusters=[prod-east(stl_reader@examplecluster.abc123.us-east-1.redshift.amazonaws.com:5439/dev sslMode=verify-full password=set)] " +
		"customQueries=[big_orders(on prod-east)]"
	if got := cfg.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
}
