package export

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

func TestVerifySQLBucketsEveryWindowWithLogarithmicDepth(t *testing.T) {
	stl, _ := tables.Lookup("stl_query")
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var ws []state.Window
	for i := range 288 {
		ws = append(ws, state.Window{Lo: t0.Add(time.Duration(i) * 5 * time.Minute), Hi: t0.Add(time.Duration(i+1) * 5 * time.Minute)})
	}
	sql, args, err := verifySQL(stl, nil, ws)
	if err != nil {
		t.Fatal(err)
	}
	if len(args) != 3+2*len(ws) || !args[0].(time.Time).Equal(ws[0].Lo) || !args[1].(time.Time).Equal(ws[287].Hi) {
		t.Fatalf("%d args, range %v–%v", len(args), args[0], args[1])
	}
	for i := range ws {
		if !strings.Contains(sql, " THEN "+strconv.Itoa(i)+" END") {
			t.Fatalf("window %d has no bucket", i)
		}
	}
	// Depth: the CASEs a row passes through before its bucket, at most ceil(log2(288)) + 1.
	depth, most := 0, 0
	for _, tok := range strings.Fields(sql) {
		switch tok {
		case "CASE":
			depth++
			most = max(most, depth)
		case "END":
			depth--
		}
	}
	if most > 10 {
		t.Errorf("CASE nesting %d for 288 windows, want about log2", most)
	}
}
