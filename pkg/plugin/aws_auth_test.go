package plugin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	gcfg "github.com/grafana/grafana-plugin-sdk-go/config"

	"github.com/stlarchive/redshift-stl-archive/pkg/plugin"
)

// TestGrafanasAllowedAuthProvidersComeFromThePluginContext: Grafana passes its [aws] settings in
// the Grafana config of the plugin context. A datasource asking for the host's default
// credentials where the administrator allows only the EC2 role is refused, naming the field.
func TestGrafanasAllowedAuthProvidersComeFromThePluginContext(t *testing.T) {
	t.Setenv("AWS_AUTH_AllowedAuthProviders", "")
	jsonData := []byte(`{"authType": "default", "defaultRegion": "us-east-1", "archive": {"path": "` + t.TempDir() + `", "s3": {"bucket": "stl-bucket"}},
		"export": {"enabled": false}}`)
	ctx := gcfg.WithGrafanaConfig(context.Background(), gcfg.NewGrafanaCfg(map[string]string{
		"AWS_AUTH_AllowedAuthProviders": "ec2_iam_role", "AWS_AUTH_AssumeRoleEnabled": "false"}))
	inst, err := plugin.NewDatasource(ctx, backend.DataSourceInstanceSettings{UID: "aws-auth", JSONData: jsonData})
	if err != nil {
		t.Fatal(err)
	}
	ds := inst.(*plugin.Datasource)
	t.Cleanup(ds.Dispose)
	res, err := ds.CheckHealth(ctx, &backend.CheckHealthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "jsonData.aws.authType: default is not allowed by this Grafana") ||
		!strings.Contains(res.Message, "ec2_iam_role") {
		t.Errorf("health %v %q, want the disallowed provider named", res.Status, res.Message)
	}
}
