package bench

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
)

// ExportAgainstTargets runs ExportVsFloor and says on out when the ratio or the peak RSS missed
// its target.
func ExportAgainstTargets(ctx context.Context, out io.Writer, opts ExportOptions) error {
	res, err := ExportVsFloor(ctx, out, opts)
	if err != nil {
		return err
	}
	if res.Ratio > TargetRatio || (res.PeakRSS > 0 && res.PeakRSS > TargetPeakRSS) {
		fmt.Fprintf(out, "MISSED a target: ratio %.2f (≤ %.1f), peak RSS %d MiB (≤ %d MiB)\n", res.Ratio, TargetRatio, res.PeakRSS>>20, TargetPeakRSS>>20)
	}
	return nil
}

// ServerCluster is a cluster on the PostgreSQL server of u: its host, port, user, password and
// sslmode (disable when u names none).
func ServerCluster(u *url.URL) config.Cluster {
	port, _ := strconv.Atoi(u.Port())
	password, _ := u.User.Password()
	c := config.DefaultCluster()
	c.Host, c.Port, c.User, c.Password = u.Hostname(), port, u.User.Username(), config.Secret(password)
	c.SSLMode = u.Query().Get("sslmode")
	if c.SSLMode == "" {
		c.SSLMode = "disable"
	}
	return c
}
