package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/app"
	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export"
)

// configFlags are the flags every command uses to find its configuration.
type configFlags struct {
	path, datasource string
}

func (c *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.path, "config", "provisioning/datasources", "datasource provisioning file or folder")
	fs.StringVar(&c.datasource, "datasource", "", "datasource name, when there are several of this plugin")
}

func (c *configFlags) load() (config.Config, error) {
	cfg, err := config.LoadProvisioning(c.path, c.datasource, os.LookupEnv)
	if err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(usageOut)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func runExport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	once := fs.Bool("once", false, "run one cycle on every cluster and exit")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	log := logger()
	report := func(r export.Result) {
		switch {
		case r.Skipped:
			log.Info("cluster skipped: another exporter holds its lease", "cluster", r.Cluster, "owner", r.Holder.Owner, "until", r.Holder.Expires)
		case r.Failed() != nil:
			log.Error("cluster failed", "cluster", r.Cluster, "error", r.Failed())
		default:
			log.Info("cluster exported", "cluster", r.Cluster, "rows", r.Rows())
		}
	}
	exp, fleet, err := app.OpenExporter(ctx, cfg, export.Options{Log: log, Hook: killHook(), OnResult: report})
	if err != nil {
		return configError(err)
	}
	defer exp.Close()
	cfg = fleet.Config
	for _, name := range fleet.ProblemNames() {
		log.Error("cluster failed", "cluster", name, "error", fleet.Problems[name])
	}
	if !*once {
		log.Info("exporting", "clusters", len(cfg.Clusters), "interval", cfg.Export.Interval, "archive", cfg.Archive.Path)
		exp.Run(ctx)
		return nil
	}
	failed := len(fleet.Problems)
	var skipped []export.Result
	for _, r := range exp.Cycle(ctx) {
		report(r)
		switch {
		case r.Failed() != nil:
			failed++
		case r.Skipped:
			skipped = append(skipped, r)
		}
	}
	return onceOutcome(failed, skipped, len(cfg.Clusters)+len(fleet.Problems))
}

// onceOutcome names on stderr the clusters an "export --once" did not export and picks the exit
// status: a failure (1) outranks a skip for another exporter's lease (3), and both are named.
func onceOutcome(failed int, skipped []export.Result, clusters int) error {
	for _, r := range skipped {
		fmt.Fprintf(os.Stderr, "stlarchive export: cluster %s skipped: held by another exporter (%s) until %s\n",
			r.Cluster, r.Holder.Owner, r.Holder.Expires.UTC().Format(time.RFC3339))
	}
	if len(skipped) > 0 {
		fmt.Fprintf(os.Stderr, "stlarchive export: %d of %d clusters skipped\n", len(skipped), clusters)
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "stlarchive export: %d of %d clusters failed\n", failed, clusters)
		return errFailed
	}
	if len(skipped) > 0 {
		return errSkipped
	}
	return nil
}

// killHook lets the crash tests stop the process with SIGKILL at a protocol step:
// STLARCHIVE_TEST_KILL_AT=<step>[:<table>] (steps: pending, writing, written, committed).
func killHook() func(export.Step, string, string) {
	spec := os.Getenv("STLARCHIVE_TEST_KILL_AT")
	if spec == "" {
		return nil
	}
	step, table, _ := strings.Cut(spec, ":")
	return func(s export.Step, cluster, t string) {
		if string(s) == step && (table == "" || table == t) {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
}

func runStatus(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	days := fs.Bool("days", false, "show each day's objects: the exporter's windows, compacted or retired")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	if *days {
		return printDays(ctx, cfg, *asJSON)
	}
	store, err := export.OpenStore(cfg)
	if err != nil {
		return configError(err)
	}
	defer store.Close()
	st, err := export.Status(ctx, store, time.Now())
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CLUSTER\tTABLE\tWATERMARK\tLAG\tROWS\tGAPS\tLAST ERROR\tVERIFIED UP TO\tLATE ROWS\tROWS HEALED\tUNVERIFIABLE\tDIFFERS\tUNPLACED\tVERIFICATION")
	for _, s := range st {
		wm, lag := "-", "-"
		if s.Watermark != nil {
			wm = s.Watermark.Format("2006-01-02 15:04:05")
			lag = s.Lag.Round(time.Second).String()
		}
		gaps := "-"
		if len(s.Gaps) > 0 {
			var g []string
			for _, gp := range s.Gaps {
				g = append(g, gp.From.Format(time.DateTime)+" → "+gp.To.Format(time.DateTime))
			}
			gaps = strings.Join(g, ", ")
		}
		errText := s.LastError
		if len(errText) > 120 {
			errText = errText[:117] + "..."
		}
		if errText == "" {
			errText = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", s.Cluster, s.Table, wm, lag, s.Rows, gaps, errText, verifyColumns(s.Verification))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	printHeals(st)
	return nil
}

func runCheck(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	exp, fleet, err := app.OpenExporter(ctx, cfg, export.Options{})
	var pathErr *export.PathError
	if errors.As(err, &pathErr) {
		// The archive is unusable; the clusters are still worth checking.
		exp, fleet, err = app.OpenChecker(ctx, cfg, export.Options{})
	}
	if err != nil {
		return err
	}
	defer exp.Close()
	failed := len(fleet.Problems) > 0
	for _, name := range fleet.ProblemNames() {
		fmt.Printf("cluster %s (SSM): not configured: %v\n", name, fleet.Problems[name])
	}
	switch {
	case pathErr != nil:
		fmt.Println(pathErr)
	default:
		if err := exp.Archive().CheckWritable(ctx); err != nil {
			fmt.Printf("%s: %v\n", exp.Archive(), err)
			failed = true
		} else {
			fmt.Printf("%s: writable\n", exp.Archive())
		}
	}
	for _, name := range exp.Clusters() {
		line, ok := exp.CheckCluster(ctx, name).Summary()
		fmt.Println(line)
		failed = failed || !ok
	}
	if fleet.Config.Query.Engine == "athena" {
		// The same single GetWorkGroup as the datasource's health check.
		line, err := checkQueries(ctx, fleet.Config)
		if err != nil {
			fmt.Println(err)
			failed = true
		} else {
			fmt.Println(line)
		}
	}
	switch {
	case pathErr != nil:
		return errConfigReported
	case failed:
		return errFailed
	}
	return nil
}

// configError marks an unusable archive or state folder as the configuration error it is
// (exit status 2).
func configError(err error) error {
	if errors.As(err, new(*export.PathError)) {
		return usageError{err}
	}
	return err
}

func checkQueries(ctx context.Context, cfg config.Config) (string, error) {
	q, err := app.OpenQueries(ctx, cfg, nil)
	if err != nil {
		return "", err
	}
	defer q.Close()
	if q.Check == nil {
		return "query engine " + cfg.Query.Engine + ": ready", nil
	}
	return q.Check(ctx)
}
