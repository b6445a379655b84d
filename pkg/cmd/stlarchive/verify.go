package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/app"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
)

// runVerify runs one verification pass on every cluster: exit 0 when the archive equals the
// source (or was healed to), 1 when it differs or a pass failed.
func runVerify(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	heal := fs.Bool("heal", false, "re-export the windows whose source rows changed")
	since := fs.String("since", "", "verify the windows that end after this time (RFC 3339) or this long ago (e.g. 6h); default the configured horizon")
	deep := fs.Bool("deep", false, "also read every matching window again and compare the checksum of its rows")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	from, err := parseSince(*since, time.Now())
	if err != nil {
		return usagef("--since: %v", err)
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	exp, fleet, err := app.OpenExporter(ctx, cfg, export.Options{Log: logger(), Hook: killHook()})
	if err != nil {
		return err
	}
	defer exp.Close()
	for _, name := range fleet.ProblemNames() {
		fmt.Fprintf(os.Stderr, "cluster %s (SSM): not configured: %v\n", name, fleet.Problems[name])
	}
	results := exp.Verify(ctx, export.VerifyOptions{Heal: *heal, Since: from, Deep: *deep})
	failed := len(fleet.Problems)
	for _, r := range results {
		if r.Differs() {
			failed++
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	} else {
		printVerify(results)
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "stlarchive verify: the archive differs from the source, or could not be verified, on %d of %d clusters\n",
			failed, len(results)+len(fleet.Problems))
		return errFailed
	}
	return nil
}

func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%q must be a positive duration", s)
		}
		return now.Add(-d).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a time (2006-01-02T15:04:05Z) nor a duration (6h)", s)
	}
	return t.UTC(), nil
}

func printVerify(results []export.VerifyResult) {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CLUSTER\tTABLE\tWINDOWS\tEQUAL\tLATE ROWS\tHEALED\tROWS HEALED\tUNVERIFIABLE\tDIFFERS\tERROR")
	var queries int64
	var took time.Duration
	for _, r := range results {
		queries += r.Queries
		took = max(took, r.Duration)
		if r.Err != nil {
			fmt.Fprintf(w, "%s\t-\t-\t-\t-\t-\t-\t-\t-\t%s\n", r.Cluster, r.Err)
			continue
		}
		for _, t := range r.Tables {
			fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", r.Cluster, t.Table, t.Windows, t.Equal, t.LateRows,
				t.Healed, t.RowsHealed, t.Unverifiable, t.Differs, t.Error)
		}
	}
	w.Flush()
	for _, r := range results {
		for _, t := range r.Tables {
			for _, c := range t.Checks {
				fmt.Printf("%s %s (%s, %s]: %s, archived %d rows, source %d\n", r.Cluster, t.Table,
					c.Window.Lo.Format(time.RFC3339Nano), c.Window.Hi.Format(time.RFC3339Nano), c.Verdict, c.ArchivedRows, c.SourceRows)
			}
		}
	}
	for _, r := range results {
		for _, t := range r.Tables {
			if t.Unhealable > 0 {
				fmt.Printf("%s %s: %d window(s) differ from the source in days already compacted or retired; no heal was written (readers read the compacted parts only)\n",
					r.Cluster, t.Table, t.Unhealable)
			}
		}
	}
	printUnplaced(results)
	fmt.Printf("%d statements, longest cluster %s\n", queries, took.Round(time.Millisecond))
}

// verifyColumns are the status table's verification columns for one (cluster, table).
func verifyColumns(v export.VerifyStatus) string {
	up := "-"
	if v.VerifiedUpTo != nil {
		up = v.VerifiedUpTo.Format(time.DateTime)
	}
	var notes []string
	if v.HealPending != nil {
		notes = append(notes, "heal pending "+v.HealPending.Lo.Format(time.DateTime)+" → "+v.HealPending.Hi.Format(time.DateTime))
	}
	if v.Unhealable > 0 {
		notes = append(notes, fmt.Sprintf("%d window(s) differ in compacted days and cannot be healed", v.Unhealable))
	}
	if v.LastError != "" {
		notes = append(notes, "verification failed: "+v.LastError)
	}
	notes = append(notes, unplacedNote(v.Unplaced)...)
	return fmt.Sprintf("%s\t%d\t%d\t%d\t%d\t%d\t%s", up, v.LateRows, v.RowsHealed, v.LastPassUnverifiable, v.Differs, v.Unplaced.Rows, strings.Join(notes, "; "))
}

// printHeals lists the recent heals of every (cluster, table) under the status table.
func printHeals(st []export.TableStatus) {
	for _, s := range st {
		for _, h := range s.Verification.Heals {
			fmt.Printf("healed %s %s (%s, %s] at %s: %d → %d rows\n", s.Cluster, s.Table,
				h.Window.Lo.Format(time.RFC3339Nano), h.Window.Hi.Format(time.RFC3339Nano), h.At.Format(time.DateTime), h.RowsBefore, h.RowsAfter)
		}
	}
}
