package duckdb_test

import (
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
)

func TestNewResultKeepsColumnsThatMatchTheirKinds(t *testing.T) {
	n, s, ts := int64(1), "a", time.Unix(0, 0).UTC()
	res, err := duckdb.NewResult("SELECT", []duckdb.Field{
		{Name: "n", Kind: duckdb.KindInt64, Values: []*int64{&n, nil}},
		{Name: "s", Kind: duckdb.KindString, Values: []*string{nil, &s}},
		{Name: "t", Kind: duckdb.KindTime, Values: []*time.Time{&ts, &ts}},
	}, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Len() != 2 || len(res.Fields()) != 3 || !res.Truncated || res.MaxRows != 2 || res.SQL != "SELECT" {
		t.Errorf("result of %d rows, %d fields, truncated %v, max %d, sql %q", res.Len(), len(res.Fields()), res.Truncated, res.MaxRows, res.SQL)
	}
}

func TestNewResultRefusesMismatchedColumns(t *testing.T) {
	n := int64(1)
	cases := map[string][]duckdb.Field{
		"values of another kind": {{Name: "n", Kind: duckdb.KindFloat64, Values: []*int64{&n}}},
		"unequal lengths": {
			{Name: "a", Kind: duckdb.KindInt64, Values: []*int64{&n}},
			{Name: "b", Kind: duckdb.KindInt64, Values: []*int64{&n, &n}},
		},
	}
	for name, fields := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := duckdb.NewResult("", fields, 0, false); err == nil {
				t.Error("NewResult accepted the columns")
			}
		})
	}
}
