package state_test

import (
	"path/filepath"
	"testing"

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
