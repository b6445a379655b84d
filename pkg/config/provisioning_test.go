package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ours is a datasource of this plugin in provisioning YAML, indented for a datasources list.
func ours(name, archive string) string {
	return `
  - name: ` + name + `
    type: stlarchive-redshift-datasource
    uid: ` + strings.ToLower(strings.ReplaceAll(name, " ", "-")) + `
    access: proxy
    editable: false
    jsonData:
      archive:
        path: ` + archive + `
      clusters:
        - name: prod-east
          host: prod-east.example.com
          user: stl_reader
    secureJsonData:
      password.prod-east: $PW
`
}

const otherPlugin = `
  - name: Prometheus
    type: prometheus
    url: http://localhost:$PROM_PORT
    jsonData:
      httpMethod: $UNSET_ELSEWHERE
      timeInterval: 15s
`

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestProvisioningFileExpandsEnvironmentVariables(t *testing.T) {
	file := writeFile(t, filepath.Join(t.TempDir(), "stl.yaml"), `apiVersion: 1
datasources:
  - name: $DS_NAME
    type: stlarchive-redshift-datasource
    jsonData:
      archive:
        path: ${ARCHIVE_DIR}
      export:
        interval: ${INTERVAL}
        enabled: $EXPORT_ON
        concurrency: 2
        queryGroup: stl$$archive
      clusters:
        - name: prod-east
          host: $REDSHIFT_HOST
          port: $REDSHIFT_PORT
          user: stl_reader
          sslMode: require
    secureJsonData:
      password.prod-east: ${REDSHIFT_PASSWORD}
`)
	env := envOf(map[string]string{
		"DS_NAME": "STL Archive", "ARCHIVE_DIR": "/srv/stl", "INTERVAL": "2m", "EXPORT_ON": "true",
		"REDSHIFT_HOST": "c1.abc.us-east-1.redshift.amazonaws.com", "REDSHIFT_PORT": "5440",
		"REDSHIFT_PASSWORD": secretValue,
	})
	cfg, err := LoadProvisioning(file, "STL Archive", env)
	if err != nil {
		t.Fatalf("LoadProvisioning: %v", err)
	}
	c := cfg.Clusters[0]
	if cfg.Archive.Path != "/srv/stl" || cfg.Export.Interval != 2*time.Minute || !cfg.Export.Enabled ||
		cfg.Export.QueryGroup != "stl$archive" || cfg.Export.Concurrency != 2 {
		t.Errorf("export settings not expanded: %v", cfg)
	}
	if c.Host != "c1.abc.us-east-1.redshift.amazonaws.com" || c.Port != 5440 || c.SSLMode != "require" {
		t.Errorf("cluster not expanded: %v", cfg)
	}
	if c.Password.Reveal() != secretValue {
		t.Errorf("password from the environment not attached")
	}
}

func TestProvisioningMissingVariableNamesFileDatasourceFieldAndVariable(t *testing.T) {
	file := writeFile(t, filepath.Join(t.TempDir(), "stl.yaml"), "apiVersion: 1\ndatasources:"+ours("STL", "$ARCHIVE_DIR"))
	_, err := LoadProvisioning(file, "", envOf(map[string]string{"PW": secretValue}))
	want := file + `: datasource "STL": jsonData.archive.path: environment variable ARCHIVE_DIR is not set`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v\nwant %s", err, want)
	}

	_, err = LoadProvisioning(file, "", envOf(map[string]string{"ARCHIVE_DIR": "/a"}))
	want = file + `: datasource "STL": secureJsonData.password.prod-east: environment variable PW is not set`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

func TestProvisioningIgnoresOtherPluginTypes(t *testing.T) {
	// The other datasource refers to variables this process does not have; that is Grafana's
	// business, not a reason to refuse ours.
	file := writeFile(t, filepath.Join(t.TempDir(), "all.yaml"), "apiVersion: 1\ndatasources:"+otherPlugin+ours("STL", "/srv/stl"))
	cfg, err := LoadProvisioning(file, "", envOf(map[string]string{"PW": secretValue}))
	if err != nil {
		t.Fatalf("LoadProvisioning: %v", err)
	}
	if cfg.Archive.Path != "/srv/stl" {
		t.Errorf("archive = %q", cfg.Archive.Path)
	}

	only := writeFile(t, filepath.Join(t.TempDir(), "prom.yaml"), "apiVersion: 1\ndatasources:"+otherPlugin)
	_, err = LoadProvisioning(only, "", envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "no datasource of type stlarchive-redshift-datasource") {
		t.Errorf("err = %v, want no datasource of our type", err)
	}
}

func TestProvisioningSeveralDatasourcesAreChosenByName(t *testing.T) {
	file := writeFile(t, filepath.Join(t.TempDir(), "two.yaml"),
		"apiVersion: 1\ndatasources:"+ours("Archive A", "/srv/a")+otherPlugin+ours("Archive B", "/srv/b"))
	env := envOf(map[string]string{"PW": secretValue})

	cfg, err := LoadProvisioning(file, "Archive B", env)
	if err != nil {
		t.Fatalf("LoadProvisioning(Archive B): %v", err)
	}
	if cfg.Archive.Path != "/srv/b" {
		t.Errorf("picked archive %q, want /srv/b", cfg.Archive.Path)
	}

	_, err = LoadProvisioning(file, "", env)
	if err == nil || !strings.Contains(err.Error(), `2 datasources of type stlarchive-redshift-datasource, choose one by name: "Archive A" (two.yaml), "Archive B" (two.yaml)`) {
		t.Errorf("ambiguous: err = %v", err)
	}

	_, err = LoadProvisioning(file, "Archive C", env)
	if err == nil || !strings.Contains(err.Error(), `no datasource named "Archive C"`) ||
		!strings.Contains(err.Error(), `available: "Archive A" (two.yaml), "Archive B" (two.yaml)`) {
		t.Errorf("not found: err = %v", err)
	}
}

func TestProvisioningFolderReadsEveryYAMLFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a-prometheus.yaml"), "apiVersion: 1\ndatasources:"+otherPlugin)
	writeFile(t, filepath.Join(dir, "b-stl.yml"), "apiVersion: 1\ndatasources:"+ours("STL", "/srv/stl"))
	writeFile(t, filepath.Join(dir, "c-empty.yaml"), "")
	writeFile(t, filepath.Join(dir, "README.txt"), "not: [yaml")
	writeFile(t, filepath.Join(dir, "nested", "d.yaml"), "apiVersion: 1\ndatasources:"+ours("Nested", "/srv/n"))
	env := envOf(map[string]string{"PW": secretValue})

	cfg, err := LoadProvisioning(dir, "", env)
	if err != nil {
		t.Fatalf("LoadProvisioning(dir): %v", err)
	}
	if cfg.Archive.Path != "/srv/stl" {
		t.Errorf("archive = %q, want the one from b-stl.yml", cfg.Archive.Path)
	}

	writeFile(t, filepath.Join(dir, "e-again.yaml"), "apiVersion: 1\ndatasources:"+ours("STL", "/srv/other"))
	_, err = LoadProvisioning(dir, "STL", env)
	if err == nil || !strings.Contains(err.Error(), `datasource "STL" is defined 2 times: "STL" (b-stl.yml), "STL" (e-again.yaml)`) {
		t.Errorf("duplicate name: err = %v", err)
	}

	_, err = LoadProvisioning(t.TempDir(), "", env)
	if err == nil || !strings.Contains(err.Error(), "no *.yaml or *.yml file") {
		t.Errorf("empty folder: err = %v", err)
	}
}

func TestProvisioningRelativePathsResolveAgainstTheFileFolder(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		archive, state       string
		wantArchive, wantSta string
	}{
		{"archive", "", filepath.Join(dir, "archive"), filepath.Join(dir, "archive", ".state", "export.db")},
		{"../shared/archive", "state/export.db", filepath.Join(filepath.Dir(dir), "shared", "archive"), filepath.Join(dir, "state", "export.db")},
		{"/srv/stl", "local.db", "/srv/stl", filepath.Join(dir, "local.db")},
	}
	for _, tc := range cases {
		yaml := "apiVersion: 1\ndatasources:" + ours("STL", tc.archive)
		if tc.state != "" {
			yaml = strings.Replace(yaml, "      archive:\n", "      state:\n        path: "+tc.state+"\n      archive:\n", 1)
		}
		file := writeFile(t, filepath.Join(dir, "stl.yaml"), yaml)
		cfg, err := LoadProvisioning(file, "", envOf(map[string]string{"PW": secretValue}))
		if err != nil {
			t.Fatalf("LoadProvisioning: %v", err)
		}
		if cfg.Archive.Path != tc.wantArchive || cfg.State.Path != tc.wantSta {
			t.Errorf("archive %q state %q: got %q and %q, want %q and %q",
				tc.archive, tc.state, cfg.Archive.Path, cfg.State.Path, tc.wantArchive, tc.wantSta)
		}
	}
}

func TestProvisioningErrorsArePrefixedOnEveryLineAndHideSecrets(t *testing.T) {
	yaml := "apiVersion: 1\ndatasources:" + ours("STL", "/srv/stl")
	yaml = strings.Replace(yaml, "          user: stl_reader\n", "          user: stl_reader\n          port: 70000\n          sslmode: disable\n", 1)
	yaml += "      password.prod-eats: $PW\n"
	file := writeFile(t, filepath.Join(t.TempDir(), "stl.yaml"), yaml)
	_, err := LoadProvisioning(file, "STL", envOf(map[string]string{"PW": secretValue}))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Errorf("want 3 problems, got:\n%v", err)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, file+`: datasource "STL": `) {
			t.Errorf("line without file and datasource: %q", l)
		}
	}
	for _, want := range []string{
		"jsonData.clusters[0].port: must be between 1 and 65535, got 70000",
		`jsonData.clusters[0].sslmode: unknown field (did you mean "sslMode"?)`,
		`secureJsonData.password.prod-eats: no cluster named "prod-eats"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), secretValue) {
		t.Errorf("error shows the password:\n%v", err)
	}
}

func TestProvisioningRefusesMalformedFiles(t *testing.T) {
	base := "apiVersion: 1\ndatasources:" + ours("STL", "/srv/stl")
	cases := map[string]string{
		"not yaml":         "apiVersion: 1\ndatasources: [",
		"old apiVersion":   strings.Replace(base, "apiVersion: 1\n", "", 1),
		"secure not a map": strings.Replace(base, "    secureJsonData:\n      password.prod-east: $PW\n", "    secureJsonData: [a, b]\n", 1),
		"no name":          strings.Replace(base, "  - name: STL\n", "  - orgId: 1\n", 1),
	}
	want := map[string]string{
		"not yaml":         "read provisioning",
		"old apiVersion":   "apiVersion must be 1, got 0",
		"secure not a map": "secureJsonData: must be a mapping",
		"no name":          "datasources[0].name: required",
	}
	for name, content := range cases {
		file := writeFile(t, filepath.Join(t.TempDir(), "x.yaml"), content)
		_, err := LoadProvisioning(file, "", envOf(map[string]string{"PW": secretValue}))
		if err == nil || !strings.Contains(err.Error(), want[name]) {
			t.Errorf("%s: err = %v, want %q", name, err, want[name])
		}
	}
	if _, err := LoadProvisioning(filepath.Join(t.TempDir(), "missing.yaml"), "", nil); err == nil {
		t.Errorf("a missing file gave no error")
	}
}

func TestProvisioningExpandsInsideListsAnchorsAndFiles(t *testing.T) {
	dir := t.TempDir()
	pwFile := writeFile(t, filepath.Join(dir, "secrets", "pw"), secretValue+"\n")
	file := writeFile(t, filepath.Join(dir, "stl.yaml"), `apiVersion: 1
x-cluster: &cluster
  host: $HOST
  user: stl_reader
datasources:
  - name: STL
    type: stlarchive-redshift-datasource
    jsonData:
      archive: {path: /srv/stl}
      export:
        tables: [stl_query, $SECOND_TABLE]
      clusters:
        - name: a
          <<: *cluster
        - {name: b, host: $HOST, user: "${USER_B}"}
    secureJsonData:
      password.a: $__file{`+pwFile+`}
      password.b:
`)
	env := envOf(map[string]string{"HOST": "h.example.com", "SECOND_TABLE": "stl_scan", "USER_B": "reader_b"})
	cfg, err := LoadProvisioning(file, "", env)
	if err != nil {
		t.Fatalf("LoadProvisioning: %v", err)
	}
	if got := strings.Join(cfg.Export.Tables, ","); got != "stl_query,stl_scan" {
		t.Errorf("tables = %s", got)
	}
	a, b := cfg.Clusters[0], cfg.Clusters[1]
	if a.Host != "h.example.com" || b.Host != "h.example.com" || b.User != "reader_b" {
		t.Errorf("clusters = %v", cfg)
	}
	if a.Password.Reveal() != secretValue || b.Password.Reveal() != "" {
		t.Errorf("passwords from $__file and an empty value were not attached as written")
	}
}
