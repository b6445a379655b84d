package export

import (
	"hash/fnv"
	"testing"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/source"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

func batchOf(rows [][2]any) *source.Batch {
	b := &source.Batch{Len: len(rows), Cols: make([]source.Vector, 2)}
	for _, r := range rows {
		q, txt := &b.Cols[0], &b.Cols[1]
		if r[0] == nil {
			q.Null, q.Ints = append(q.Null, true), append(q.Ints, 0)
		} else {
			q.Null, q.Ints = append(q.Null, false), append(q.Ints, int64(r[0].(int)))
		}
		if r[1] == nil {
			txt.Null = append(txt.Null, true)
		} else {
			txt.Null = append(txt.Null, false)
			txt.Bytes = append(txt.Bytes, r[1].(string)...)
		}
		txt.Ends = append(txt.Ends, len(txt.Bytes))
	}
	return b
}

func TestDigestIsOrderIndependentAndSeesEveryColumnAndDuplicate(t *testing.T) {
	stl, _ := tables.Lookup("stl_query")
	cols := []source.Column{{Name: "query", Kind: source.KindInt32}, {Name: "label", Kind: source.KindText}}
	sum := func(batches ...[][2]any) *digest {
		d := newDigest(stl, cols)
		for _, b := range batches {
			d.add(batchOf(b))
		}
		return d
	}
	a := sum([][2]any{{1, "x"}, {2, nil}}, [][2]any{{3, ""}})
	b := sum([][2]any{{3, ""}, {1, "x"}, {2, nil}})
	if a.checksum != b.checksum || a.rows != 3 || a.keySum != 6 || b.keySum != 6 {
		t.Fatalf("order changed the digest: %+v %+v", a, b)
	}
	for name, other := range map[string]*digest{
		"NULL label instead of empty":   sum([][2]any{{1, "x"}, {2, nil}, {3, nil}}),
		"empty label instead of NULL":   sum([][2]any{{1, "x"}, {2, ""}, {3, ""}}),
		"a label with a trailing blank": sum([][2]any{{1, "x "}, {2, nil}, {3, ""}}),
		"a NULL query":                  sum([][2]any{{1, "x"}, {nil, nil}, {3, ""}}),
		"a duplicate instead of a row":  sum([][2]any{{1, "x"}, {1, "x"}, {3, ""}}),
	} {
		if other.checksum == a.checksum {
			t.Errorf("%s: same checksum", name)
		}
	}
	if d := sum([][2]any{{1, "x"}, {1, "x"}}); d.checksum == 0 {
		t.Error("two equal rows cancelled out")
	}
	custom := tables.Custom("orders", "SELECT 1", "t", nil)
	if d := newDigest(custom, cols); d.key != -1 {
		t.Error("a custom query sums a column named query")
	}
}

func TestFNV64aMatchesTheStandardLibrary(t *testing.T) {
	for _, s := range []string{"", "a", "stl_query\x00label \u00e9"} {
		h := fnv.New64a()
		h.Write([]byte(s))
		if got := fnv64a([]byte(s)); got != h.Sum64() {
			t.Errorf("fnv64a(%q) = %x, want %x", s, got, h.Sum64())
		}
	}
}

func TestDecimalStringIsTheServersTextForm(t *testing.T) {
	for _, c := range []struct {
		unscaled int64
		scale    int
		want     string
	}{{123400, 4, "12.3400"}, {-5, 2, "-0.05"}, {0, 3, "0.000"}, {42, 0, "42"}, {-123, 0, "-123"}} {
		if got := decimalString(c.unscaled, c.scale); got != c.want {
			t.Errorf("decimalString(%d, %d) = %q, want %q", c.unscaled, c.scale, got, c.want)
		}
	}
}
