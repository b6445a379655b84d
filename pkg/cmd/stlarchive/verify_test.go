package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/export"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/simtest"
)

func healsPending(t *testing.T, statePath string) []string {
	t.Helper()
	store, err := state.OpenBolt(statePath)
	if err != nil {
		t.Fatal(err)
	}
	list, err := store.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range list {
		if p.Heal != nil {
			out = append(out, p.Table)
		}
	}
	return out
}

// TestVerifyHealsLateRowsThroughSIGKILLs appends rows behind the watermark on a running
// simulator, shows that verify reports them with a failing exit status, kills the compiled CLI
// with SIGKILL at steps of the healing re-export, and checks that a restart finishes the heals
// exactly once: verify then passes and the archive equals the source row for row.
func TestVerifyHealsLateRowsThroughSIGKILLs(t *testing.T) {
	c := simtest.New(t, "vkill", 3)
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, c)
	statePath := filepath.Join(dir, "archive", ".state", "export.db")
	last := c.History(t, 30*time.Minute)
	simtest.WaitPastLag(t, c, last)
	stop := c.Run(t)
	if r := runCLI(t, nil, "export", "--once", "--config", cfgPath); r.code != 0 {
		t.Fatalf("first export: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, nil, "verify", "--config", cfgPath); r.code != 0 {
		t.Fatalf("verify of a clean archive: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	store, err := state.OpenBolt(statePath)
	if err != nil {
		t.Fatal(err)
	}
	p, err := store.Get(context.Background(), "vkill", "stl_query")
	if err != nil {
		t.Fatal(err)
	}
	added := c.AppendLate(t, p.Watermark.Add(-20*time.Minute), p.Watermark.Add(-10*time.Minute))
	if added["stl_query"] == 0 || added["stl_querytext"] == 0 {
		t.Fatalf("no late rows appended: %v", added)
	}
	r := runCLI(t, nil, "verify", "--config", cfgPath)
	if r.code != 1 || !strings.Contains(r.stdout, "changed") || !strings.Contains(r.stderr, "differs from the source") {
		t.Fatalf("verify with late rows: exit %d, want 1 and the changed windows\n%s%s", r.code, r.stdout, r.stderr)
	}

	for _, at := range []string{"heal-written:stl_querytext", "heal-pending:stl_scan", "heal-writing:stl_wlm_query"} {
		r := runCLI(t, []string{"STLARCHIVE_TEST_KILL_AT=" + at}, "verify", "--heal", "--config", cfgPath)
		if r.signal != syscall.SIGKILL {
			t.Fatalf("kill at %s: not killed (exit %d)\n%s%s", at, r.code, r.stdout, r.stderr)
		}
		table := strings.SplitN(at, ":", 2)[1]
		if got := healsPending(t, statePath); len(got) != 1 || got[0] != table {
			t.Fatalf("kill at %s: heals pending %v, want %s's", at, got, table)
		}
		// An export cycle redoes the pending heal before anything else.
		time.Sleep(1200 * time.Millisecond) // the killed process's 1s lease expires
		if r := runCLI(t, nil, "export", "--once", "--config", cfgPath); r.code != 0 {
			t.Fatalf("export after the kill at %s: exit %d\n%s", at, r.code, r.stderr)
		}
		if got := healsPending(t, statePath); len(got) != 0 {
			t.Fatalf("after the restart, heals still pending: %v", got)
		}
	}
	if r := runCLI(t, nil, "verify", "--heal", "--config", cfgPath); r.code != 0 {
		t.Fatalf("verify --heal: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, nil, "verify", "--deep", "--config", cfgPath); r.code != 0 || strings.Contains(r.stdout, "changed") {
		t.Fatalf("deep verify after healing: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	stop()
	simtest.WaitPastLag(t, c, c.SourceNow(t))
	if r := runCLI(t, nil, "export", "--once", "--config", cfgPath); r.code != 0 {
		t.Fatalf("final export: exit %d\n%s", r.code, r.stderr)
	}
	simtest.AssertArchiveEqualsSource(t, filepath.Join(dir, "archive"), store, c)

	r = runCLI(t, nil, "status", "--json", "--config", cfgPath)
	var st []export.TableStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	for _, s := range st {
		v := s.Verification
		if v.VerifiedUpTo == nil || v.Differs != 0 || v.HealPending != nil {
			t.Errorf("status %s: %+v", s.Table, v)
		}
		if added[s.Table] > 0 && (v.RowsHealed == 0 || v.LateRows == 0 || len(v.Heals) == 0) {
			t.Errorf("status %s: late rows %d, healed %d in %d heals; %d rows were appended", s.Table, v.LateRows, v.RowsHealed, len(v.Heals), added[s.Table])
		}
	}
	r = runCLI(t, nil, "status", "--config", cfgPath)
	if !strings.Contains(r.stdout, "VERIFIED UP TO") || !strings.Contains(r.stdout, "ROWS HEALED") || !strings.Contains(r.stdout, "healed vkill stl_query (") {
		t.Errorf("status table without verification columns:\n%s", r.stdout)
	}
}
