package config_test

import (
	"fmt"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
)

func ExampleLoadProvisioning() {
	env := map[string]string{
		"PROD_EAST_HOST":     "prod-east.abc123.us-east-1.redshift.amazonaws.com",
		"PROD_EAST_PASSWORD": "from-a-secret-store",
		"ANALYTICS_PASSWORD": "another-one",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	cfg, err := config.LoadProvisioning("testdata/provisioning/datasources", "STL Archive", lookup)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range cfg.Clusters {
		fmt.Printf("%s: %s@%s:%d/%s sslMode=%s password=%v\n", c.Name, c.User, c.Host, c.Port, c.Database, c.SSLMode, c.Password)
	}
	fmt.Println(cfg.Export.Interval, cfg.Export.Jitter, cfg.Export.Tables, cfg.Query.MaxRows)
	fmt.Println(cfg.State.Path)
	// Output:
	// prod-east: stl_reader@prod-east.abc123.us-east-1.redshift.amazonaws.com:5439/dev sslMode=verify-full password=***
	// analytics: stl_reader@analytics.abc123.eu-west-1.redshift.amazonaws.com:5439/analytics sslMode=verify-ca password=***
	// 5m0s 30s [stl_query stl_querytext stl_wlm_query stl_alert_event_log] 50000
	// /var/lib/grafana/stl-archive/.state/export.db
}

func ExampleFromSettings() {
	jsonData := []byte(`{"archive": {"path": "/srv/stl"}, "export": {"intervall": "5m", "concurrency": 0},
		"clusters": [{"name": "c1", "host": "c1.example.com", "port": 70000, "user": "u"}]}`)
	_, err := config.FromSettings(jsonData, map[string]string{"password.c2": "typo"})
	fmt.Println(err)
	// Output:
	// jsonData.export.intervall: unknown field (did you mean "interval"?)
	// jsonData.export.concurrency: must be between 1 and 64, got 0
	// jsonData.clusters[0].port: must be between 1 and 65535, got 70000
	// secureJsonData.password.c2: no cluster named "c2" in jsonData.clusters (known: c1)
	// secureJsonData.password.c1: missing
}
