package state_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state/storetest"
)

func TestBoltBehavesAsAStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) state.Store {
		s, err := state.OpenBolt(filepath.Join(t.TempDir(), "state", "export.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestBoltFileRemovedWhileInUseIsAnErrorNotANewState: a state file removed (or replaced by an
// empty one) under a running exporter makes every operation fail with an error that says so.
// Before, the next operation created an empty file and panicked on its missing buckets, taking
// the plugin process down; a new empty state would also have exported everything again.
func TestBoltFileRemovedWhileInUseIsAnErrorNotANewState(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state", "export.db")
	s, err := state.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Acquire(ctx, "c1", "me", time.Minute); err != nil || !got {
		t.Fatalf("acquire: %v %v", got, err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	for name, op := range map[string]func() error{
		"release": func() error { return s.Release(ctx, "c1", "me") },
		"acquire": func() error { _, _, err := s.Acquire(ctx, "c1", "me", time.Minute); return err },
		"get":     func() error { _, err := s.Get(ctx, "c1", "stl_query"); return err },
	} {
		if err := op(); err == nil || !strings.Contains(err.Error(), "removed or replaced") {
			t.Errorf("%s after the file was removed: %v", name, err)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the removed state file was created again: %v", err)
	}

	// Replaced by an empty bbolt file: the same error, no panic.
	empty, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	empty.Close()
	if err := s.Release(ctx, "c1", "me"); err == nil || !strings.Contains(err.Error(), "removed or replaced") {
		t.Errorf("release on a replaced file: %v", err)
	}
}
