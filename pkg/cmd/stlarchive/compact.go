package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/stlarchive/redshift-stl-archive/pkg/app"
	"github.com/stlarchive/redshift-stl-archive/pkg/compact"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
)

func runCompact(ctx context.Context, args []string) error {
	return runMaintain(ctx, "compact", args, app.MaintainOptions{Compact: true})
}

func runRetain(ctx context.Context, args []string) error {
	return runMaintain(ctx, "retain", args, app.MaintainOptions{Retain: true})
}

// runMaintain runs compaction or retention on every cluster (or those of --cluster) and prints
// each table's days and objects before and after.
func runMaintain(ctx context.Context, name string, args []string, opts app.MaintainOptions) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	clusters := fs.String("cluster", "", "comma-separated clusters (default: all)")
	asJSON := fs.Bool("json", false, "print the layout before and after as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	if *clusters != "" {
		opts.Clusters = strings.Split(*clusters, ",")
	}
	opts.Hook = compactKillHook()
	res, err := app.Maintain(ctx, cfg, opts)
	if err != nil {
		return err
	}
	failed := 0
	for _, m := range res {
		if m.Error != "" || m.Skipped != "" {
			failed++
			fmt.Fprintf(os.Stderr, "stlarchive %s: cluster %s: %s%s\n", name, m.Cluster, m.Skipped, m.Error)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLUSTER\tTABLE\tDAYS\tOBJECTS BEFORE\tOBJECTS AFTER\tCOMPACTED\tRETIRED\tUNSEEN\tGARBAGE")
		for _, m := range res {
			for i, after := range m.After {
				before := compact.TableStatus{}
				if i < len(m.Before) {
					before = m.Before[i]
				}
				days, compacted, retired := 0, 0, 0
				for _, d := range after.Days {
					switch d.State {
					case "compacted":
						compacted++
					case "retired":
						retired++
					}
					if d.State != "retired" {
						days++
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", m.Cluster, after.Table, days,
					objects(before), objects(after), compacted, retired, after.Unseen(), after.Garbage)
			}
		}
		tw.Flush()
	}
	if failed > 0 {
		return errFailed
	}
	return nil
}

// objects is the number of objects readers read for a table: per day, its windows or its parts.
func objects(s compact.TableStatus) int {
	n := 0
	for _, d := range s.Days {
		n += d.Objects
	}
	return n
}

// compactKillHook lets the crash tests stop the process with SIGKILL at a step of compaction:
// STLARCHIVE_TEST_KILL_AT=<step>[:<table>[:<day>]] (steps: listed, writing, written, switched,
// published, deleted, retired; a day YYYY-MM-DD picks the compaction of that day).
func compactKillHook() func(compact.Step, string, string, string) {
	spec := os.Getenv("STLARCHIVE_TEST_KILL_AT")
	if spec == "" {
		return nil
	}
	step, rest, _ := strings.Cut(spec, ":")
	table, onDay, _ := strings.Cut(rest, ":")
	return func(s compact.Step, t, cluster, day string) {
		if string(s) == step && (table == "" || table == t) && (onDay == "" || onDay == day) {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
}

// printDays shows, per cluster, table and day, which objects hold the day and how many.
func printDays(ctx context.Context, cfg config.Config, asJSON bool) error {
	st, err := app.Layout(ctx, cfg)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tTABLE\tDAY\tSTATE\tOBJECTS\tBEFORE\tROWS\tUNSEEN")
	for _, s := range st {
		for _, d := range s.Days {
			before, rows := "-", "-"
			if d.State == "compacted" || d.State == "partial" {
				before, rows = fmt.Sprint(d.Before), fmt.Sprint(d.Rows)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%d\n", s.Cluster, s.Table, d.Day, d.State, d.Objects, before, rows, d.Unseen)
		}
		if s.Garbage > 0 {
			fmt.Fprintf(tw, "%s\t%s\t\tgarbage\t%d\t\t\t\n", s.Cluster, s.Table, s.Garbage)
		}
	}
	return tw.Flush()
}
