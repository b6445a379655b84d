package athena_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
	"github.com/stlarchive/redshift-stl-archive/pkg/query/athena"
)

// BenchmarkRead10kRows reads a 10,000-row result of a time, a label and a number (ten pages)
// through the real client and the fake: the cost of paging and typing on this side.
func BenchmarkRead10kRows(b *testing.B) {
	fake := awsfake.NewAthena(b)
	s := awsfake.AthenaScript{Columns: []awsfake.AthenaColumn{
		{Name: "time", Type: "timestamp"}, {Name: "cluster", Type: "varchar"}, {Name: "seconds", Type: "double"},
	}}
	for i := range 10_000 {
		s.Rows = append(s.Rows, []*string{ptr("2026-11-29 18:04:05.123"), ptr("prod-" + strconv.Itoa(i%3)), ptr("12.5")})
	}
	fake.On("SELECT time, cluster, seconds FROM t", s)
	e, err := athena.New(fake.Client(), fastPolls(athena.Options{}))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res, err := e.QueryLimit(context.Background(), "SELECT time, cluster, seconds FROM t", 0)
		if err != nil || res.Len() != 10_000 {
			b.Fatalf("%v, %d rows", err, res.Len())
		}
	}
}
