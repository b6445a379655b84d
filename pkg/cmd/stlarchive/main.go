// Command stlarchive runs the exporter outside Grafana, over the same packages and the same
// datasource provisioning file as the plugin:
//
//	stlarchive export   [--once]       export on the configured interval (or one cycle)
//	stlarchive status   [--json]       watermark, lag, rows, last error and gaps per cluster and table
//	stlarchive check                   reachability and STL visibility of every cluster
//	stlarchive verify [--heal] [--since T] [--deep] [--json]
//	                                   re-count archived windows on the source; heal late rows
//	stlarchive simulate                STL-shaped tables and a live workload in PostgreSQL
//	stlarchive bench export|idle|query benchmarks against a baseline measured in the same run
//	stlarchive query [--preset ID|SQL] a diagnostic or SQL over the archive, as the datasource runs it
//	stlarchive compact                 merge each closed day's objects into a few sorted ones
//	stlarchive retain                  delete the days past each table's retention
//
// Exit status: 0 on success, 1 when a cluster failed (each failure is named on stderr) or, for
// verify, when the archive differs from the source and was not healed, 2 on a usage or
// configuration error, 3 when "export --once" skipped a cluster because another exporter
// holds its lease (each skipped cluster is named on stderr with the lease's expiry). A failure
// outranks a skip: when both happen the status is 1 and both are named.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// errUsage marks errors that are the caller's: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// errFailed is returned after the failures were reported: exit status 1.
var errFailed = errors.New("failed")

// errSkipped is returned after the clusters skipped for another exporter's lease were named:
// exit status 3.
var errSkipped = errors.New("skipped")

// errConfigReported is returned after a configuration error was reported on stdout, with
// everything else a command could still check: exit status 2.
var errConfigReported = errors.New("configuration error")

// exitSkipped is the exit status of errSkipped.
const exitSkipped = 3

var commands = map[string]func(ctx context.Context, args []string) error{
	"export":   runExport,
	"catalog":  runCatalog,
	"status":   runStatus,
	"check":    runCheck,
	"simulate": runSimulate,
	"bench":    runBench,
	"query":    runQuery,
	"compact":  runCompact,
	"retain":   runRetain,
	"verify":   runVerify,
}

const usage = `usage: stlarchive <command> [flags]

commands:
  export     export STL tables on the configured interval (--once: one cycle)
  status     show watermark, lag, rows, errors and gaps per cluster and table
  check      check every cluster: reachable, and which STL rows its user sees
  verify     re-count the archived windows on the source (--heal: re-export those with late rows)
  simulate   create STL-shaped tables in PostgreSQL and write a live workload
  bench      benchmarks: bench export | idle | query (docs/benchmarks.md)
  query      run a diagnostic preset or SQL over the archive (--preset ID | "SQL")
  catalog    create or update the Glue tables Athena reads the S3 archive through
  compact    merge each closed day's objects into one (or a few) sorted objects
  retain     delete the days past each table's retention

Every command reads the datasource provisioning file that Grafana reads:
  --config FILE|DIR    (default provisioning/datasources)
  --datasource NAME    when the file holds several datasources of this plugin
Run 'stlarchive <command> -h' for its flags.
`

// usageOut is where usage text goes: stdout when the user asked for it (-h, --help), stderr
// when it comes with a usage error.
var usageOut io.Writer = os.Stderr

// helpAsked reports whether args ask for help before any "--".
func helpAsked(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help", "help":
			return true
		}
	}
	return false
}

func main() {
	// A benchmark's export child is started without arguments (see pkg/bench).
	if child := benchChild(); child != nil {
		os.Exit(child())
	}
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if helpAsked(os.Args[1:]) {
		usageOut = os.Stdout
	}
	if os.Args[1] == "-h" || os.Args[1] == "-help" || os.Args[1] == "--help" || os.Args[1] == "help" {
		fmt.Fprint(os.Stdout, usage)
		return
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "stlarchive: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := cmd(ctx, os.Args[2:])
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errFailed):
		os.Exit(1)
	case errors.Is(err, errConfigReported):
		os.Exit(2)
	case errors.Is(err, errSkipped):
		os.Exit(exitSkipped)
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, message(os.Args[1], err))
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, message(os.Args[1], err))
		os.Exit(1)
	}
}

// message prefixes err with the command once: an error that already names the command's
// operation ("query: …" from stlarchive query) does not say it twice.
func message(cmd string, err error) string {
	msg := err.Error()
	for _, p := range []string{cmd + ": ", "stlarchive " + cmd + ": "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return "stlarchive " + cmd + ": " + msg
}
