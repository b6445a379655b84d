package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/stlarchive/redshift-stl-archive/pkg/app"
	"github.com/stlarchive/redshift-stl-archive/pkg/catalog"
)

// runCatalog creates or updates the Glue database and tables Athena reads the S3 archive
// through, as the datasource does when it starts with query.engine athena, and prints what
// changed. Run twice, the second run changes nothing.
func runCatalog(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("catalog", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	if cfg.Query.Athena == nil {
		return usagef("catalog: the datasource has no query.athena settings (the Glue database to keep)")
	}
	fleet, err := app.ResolveFleet(ctx, cfg)
	if err != nil {
		return err
	}
	cfg = fleet.Config
	if cfg.Archive.S3 == nil {
		return usagef("catalog: the datasource has no archive.s3: Athena reads the archive from S3")
	}
	names := make([]string, len(cfg.Clusters))
	for i, c := range cfg.Clusters {
		names[i] = c.Name
	}
	names = append(names, fleet.ProblemNames()...) // their history stays queryable
	r, err := app.EnsureCatalog(ctx, cfg, names)
	if err != nil {
		return err
	}
	for _, c := range r.SkippedClusters {
		fmt.Printf("cluster %q: left out of the projection: not a cluster name\n", c)
	}
	if r.DatabaseCreated {
		fmt.Printf("database %s: created\n", r.Database)
	} else {
		fmt.Printf("database %s: exists\n", r.Database)
	}
	for _, t := range r.Tables {
		line := fmt.Sprintf("table %s.%s: %s", r.Database, t.Name, t.Action)
		if len(t.Changes) > 0 {
			line += " (" + strings.Join(t.Changes, "; ") + ")"
		}
		fmt.Println(line)
	}
	if n := len(r.Names(catalog.Created)) + len(r.Names(catalog.Updated)); n == 0 {
		fmt.Fprintln(os.Stderr, "catalog: nothing changed")
	}
	return nil
}
