package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/stlarchive/redshift-stl-archive/pkg/app"
	"github.com/stlarchive/redshift-stl-archive/pkg/query"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/presets"
)

const queryUsage = `usage: stlarchive query [flags] [--preset ID | "SQL"]

Runs a diagnostic preset or SQL with macros over the archive, with the same engine, macros,
limits and presets as the datasource. Without SQL or --preset it runs the query_volume preset.
--presets lists the presets.
`

func runQuery(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), queryUsage)
		fs.PrintDefaults()
	}
	var cf configFlags
	cf.register(fs)
	format := fs.String("format", "table", "output: table, csv or json")
	fromFlag := fs.String("from", "-24h", "start of the time range: RFC 3339, or relative to now (-24h, -7d, now-1h)")
	toFlag := fs.String("to", "now", "end of the time range, like --from")
	clusters := fs.String("clusters", "", "comma-separated clusters (default: all)")
	preset := fs.String("preset", "", "run this diagnostic preset")
	shape := fs.String("shape", "", "result shape: time_series or table (default: the preset's, or table for SQL)")
	interval := fs.Duration("interval", 0, "interval of $__timeGroup (default: the range over about 300 points)")
	limit := fs.Int("limit", 0, "at most this many rows (never more than query.maxRows)")
	verbose := fs.Bool("verbose", false, "print the SQL that ran on stderr")
	list := fs.Bool("presets", false, "list the presets and exit")
	sql, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if *format != "table" && *format != "csv" && *format != "json" {
		return usagef("--format must be table, csv or json, got %q", *format)
	}
	now := time.Now().UTC()
	from, err := parseWhen(*fromFlag, now)
	if err != nil {
		return usagef("--from: %v", err)
	}
	to, err := parseWhen(*toFlag, now)
	if err != nil {
		return usagef("--to: %v", err)
	}
	if !from.Before(to) {
		return usagef("--from %s is not before --to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if sql != "" && *preset != "" {
		return usagef("give SQL or --preset, not both")
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	catalog, err := presets.New(cfg.Presets)
	if err != nil {
		return err
	}
	if *list {
		return listPresets(os.Stdout, catalog)
	}
	q, err := app.OpenQueries(ctx, cfg, app.OpenStoreStatus(cfg))
	if err != nil {
		return err
	}
	defer q.Close()
	svc := q.Service
	m := query.Model{RefID: "A", RawSQL: sql, Preset: *preset, Format: *shape, Limit: *limit}
	if *clusters != "" {
		m.Clusters = strings.Split(*clusters, ",")
	}
	ans, err := svc.Run(ctx, query.Request{Model: m, From: from, To: to, Interval: *interval})
	if *verbose && ans.SQL != "" {
		fmt.Fprintf(os.Stderr, "-- SQL that ran:\n%s\n", ans.SQL)
	}
	if err != nil {
		if query.IsUserError(err) {
			return usageError{err}
		}
		return err
	}
	for _, f := range ans.Frames {
		if f.Meta != nil {
			for _, n := range f.Meta.Notices {
				fmt.Fprintf(os.Stderr, "warning: %s\n", n.Text)
			}
		}
		if err := writeFrame(os.Stdout, f, *format); err != nil {
			return err
		}
	}
	return nil
}

// parseInterleaved parses flags before and after the one positional argument, so that
// `stlarchive query "SELECT …" --format csv` works as well as the other order.
func parseInterleaved(fs *flag.FlagSet, args []string) (string, error) {
	fs.SetOutput(usageOut)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", usageError{err}
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) > 1 {
		return "", usagef("one SQL argument expected, got %d (quote the query)", len(positional))
	}
	if len(positional) == 0 {
		return "", nil
	}
	return positional[0], nil
}

// parseWhen reads an instant: now, RFC 3339, a date, or a duration relative to now (-24h,
// now-7d).
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "now" {
		return now, nil
	}
	rel := strings.TrimPrefix(s, "now")
	if strings.HasPrefix(rel, "-") || strings.HasPrefix(rel, "+") {
		sign := time.Duration(1)
		if rel[0] == '-' {
			sign = -1
		}
		body := rel[1:]
		if days, ok := strings.CutSuffix(body, "d"); ok {
			n, err := strconv.Atoi(days)
			if err != nil {
				return time.Time{}, fmt.Errorf("%q is not a number of days", s)
			}
			return now.Add(sign * time.Duration(n) * 24 * time.Hour), nil
		}
		d, err := time.ParseDuration(body)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q: %w", s, err)
		}
		return now.Add(sign * d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not now, a relative time (-24h, -7d) or an RFC 3339 time", s)
}

func listPresets(w io.Writer, c *presets.Catalog) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFORMAT\tTITLE")
	for _, p := range c.All() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.ID, p.Format, p.Title)
	}
	return tw.Flush()
}

// columnName is a field's name with its label values, so that the series of a wide frame read
// side by side: "queries east", "queries west".
func columnName(f *data.Field) string {
	if f.Config != nil && f.Config.DisplayNameFromDS != "" {
		return f.Config.DisplayNameFromDS // a series with a metric label: "p95_seconds east"
	}
	if len(f.Labels) == 0 {
		return f.Name
	}
	parts := []string{f.Name}
	for _, k := range sortedKeys(f.Labels) {
		parts = append(parts, f.Labels[k])
	}
	return strings.Join(parts, " ")
}

func sortedKeys(l data.Labels) []string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	// cluster first: it is what a reader compares across.
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] == "cluster" || keys[i] != "cluster" && keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

// cell renders one value; ok is false for NULL.
func cell(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case *string:
		if x == nil {
			return "", false
		}
		return *x, true
	case *int64:
		if x == nil {
			return "", false
		}
		return strconv.FormatInt(*x, 10), true
	case *float64:
		if x == nil {
			return "", false
		}
		return strconv.FormatFloat(*x, 'f', -1, 64), true
	case *bool:
		if x == nil {
			return "", false
		}
		return strconv.FormatBool(*x), true
	case *time.Time:
		if x == nil {
			return "", false
		}
		return x.UTC().Format(time.RFC3339Nano), true
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return fmt.Sprint(v), true
}

func writeFrame(w io.Writer, f *data.Frame, format string) error {
	n, _ := f.RowLen()
	names := make([]string, len(f.Fields))
	for i, fld := range f.Fields {
		names[i] = columnName(fld)
	}
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(names); err != nil {
			return err
		}
		row := make([]string, len(names))
		for r := range n {
			for i, fld := range f.Fields {
				row[i], _ = cell(fld.At(r))
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	case "json":
		rows := make([]map[string]any, n)
		for r := range n {
			obj := make(map[string]any, len(names))
			for i, fld := range f.Fields {
				obj[names[i]] = jsonValue(fld.At(r))
			}
			rows[r] = obj
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(names, "\t"))
	row := make([]string, len(names))
	for r := range n {
		for i, fld := range f.Fields {
			s, ok := cell(roundForReading(fld.At(r)))
			if !ok {
				s = "NULL"
			}
			// A table row is one line: multi-line SQL text shows its line breaks as ⏎.
			row[i] = strings.NewReplacer("\n", "⏎", "\t", " ").Replace(s)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n == 0 {
		_, err := fmt.Fprintln(os.Stderr, "(no rows)")
		return err
	}
	return nil
}

// roundForReading keeps three decimals of floats in the human table (CSV and JSON keep them all).
func roundForReading(v any) any {
	switch x := v.(type) {
	case *float64:
		if x != nil {
			r := math.Round(*x*1000) / 1000
			return &r
		}
	case float64:
		return math.Round(x*1000) / 1000
	}
	return v
}

// jsonValue unwraps nullable values for encoding/json; times in RFC 3339.
func jsonValue(v any) any {
	switch x := v.(type) {
	case *string:
		if x != nil {
			return *x
		}
	case *int64:
		if x != nil {
			return *x
		}
	case *float64:
		if x != nil {
			return *x
		}
	case *bool:
		if x != nil {
			return *x
		}
	case *time.Time:
		if x != nil {
			return x.UTC().Format(time.RFC3339Nano)
		}
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	default:
		return v
	}
	return nil
}
