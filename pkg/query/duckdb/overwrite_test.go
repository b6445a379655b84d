package duckdb

import (
	"os"
	"testing"
)

// A redo of a window overwrites its object in place (same key, new content of the same size,
// within the same second): the engine reads the new content, not a cached footer or page of the
// old one.
func TestOverwrittenObjectIsReadAfresh(t *testing.T) {
	a := newArchive(t)
	e := open(t, a.root, Options{})
	var size int64
	for i := 1; i <= 4; i++ {
		path := a.write("stl_query", "c1", day1, queryRows(1000*i, 5, day1))
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if size != 0 && st.Size() != size {
			t.Logf("size changed %d -> %d", size, st.Size())
		}
		size = st.Size()
		if got := scalarInt(t, e, "SELECT min(query) FROM stl_query"); got != int64(1000*i) {
			t.Fatalf("rewrite %d: min(query) %d, want %d", i, got, 1000*i)
		}
		if got := scalarInt(t, e, "SELECT sum(query) FROM stl_query"); got != int64(5*1000*i+10) {
			t.Fatalf("rewrite %d: sum(query) %d", i, got)
		}
	}
}
