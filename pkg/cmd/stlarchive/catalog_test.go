package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// TestCatalogCreatesTheGlueTablesOnceThroughTheBuiltBinary runs 'stlarchive catalog' twice
// against a fake of Glue's wire protocol: the first run creates the database and one table per
// archived table, the second changes nothing and says so.
func TestCatalogCreatesTheGlueTablesOnceThroughTheBuiltBinary(t *testing.T) {
	glue := awsfake.NewGlue(t)
	path := filepath.Join(t.TempDir(), "datasource.yaml")
	yaml := fmt.Sprintf(`apiVersion: 1
datasources:
  - name: archive
    type: stlarchive-redshift-datasource
    jsonData:
      archive:
        path: cache
        s3: {bucket: stl-archive, prefix: stl/}
      aws: {authType: keys, region: us-east-1, endpoints: {glue: "%s"}}
      export: {enabled: false}
      compaction: {enabled: false}
      query:
        engine: athena
        athena: {workgroup: primary, database: stl_history, outputLocation: "s3://stl-athena-results/"}
      clusters:
        - {name: east, host: east.example.com, port: 5439, database: dev, user: reader}
    secureJsonData:
      accessKey: AKIDCATALOGTEST
      secretKey: catalog-test-secret
      password.east: unused
`, glue.URL)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}

	r := runCLI(t, nil, "catalog", "--config", path)
	if r.code != 0 {
		t.Fatalf("catalog: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "database stl_history: created") {
		t.Errorf("first run does not create the database:\n%s", r.stdout)
	}
	for _, name := range tables.Names() {
		if !regexp.MustCompile(`(?m)^table stl_history\.` + name + `: created`).MatchString(r.stdout) {
			t.Errorf("first run does not create %s:\n%s", name, r.stdout)
		}
	}
	created := glue.Mutations()
	if created != len(tables.Names())+1 {
		t.Errorf("%d mutating Glue calls, want a database and %d tables: %v", created, len(tables.Names()), glue.Actions())
	}

	r = runCLI(t, nil, "catalog", "--config", path)
	if r.code != 0 {
		t.Fatalf("second catalog: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "database stl_history: exists") || strings.Contains(r.stdout, ": created") ||
		strings.Contains(r.stdout, ": updated") || !strings.Contains(r.stderr, "catalog: nothing changed") {
		t.Errorf("second run is not a no-op:\n%s%s", r.stdout, r.stderr)
	}
	if n := glue.Mutations(); n != created {
		t.Errorf("second run made %d mutating Glue calls", n-created)
	}
	if strings.Contains(r.stdout+r.stderr, "catalog-test-secret") {
		t.Errorf("output shows the secret key")
	}
}
