package s3cache

import "testing"

func TestParseKeyAcceptsOnlyArchiveObjectsInsideTheFolder(t *testing.T) {
	for _, tc := range []struct {
		key string
		ok  bool
	}{
		{"stl_query/cluster=c1/day=2026-11-01/20261101T000000.000000_20261101T010000.000000.parquet", true},
		{"orders_2k/cluster=prod-eu/day=2026-02-28/1.parquet", true},
		{"stl_query/cluster=../day=2026-11-01/1.parquet", false},
		{"stl_query/cluster=c1/day=2026-11-01/../../x.parquet", false},
		{"../cluster=c1/day=2026-11-01/1.parquet", false},
		{"stl_query/cluster=c1/day=2026-11-01/.1.parquet.tmp1.parquet", false},
		{"stl_query/cluster=c1/day=2026-11-01/sub/1.parquet", false},
		{"stl_query/cluster=c\\1/day=2026-11-01/1.parquet", false},
		{"stl_query/cluster=/day=2026-11-01/1.parquet", false},
		{"stl_query/cluster=c1/day=2026-13-01/1.parquet", false},
		{"stl_query/cluster=c1/day=2026-11-01/1.csv", false},
		{"STL_QUERY/cluster=c1/day=2026-11-01/1.parquet", false},
		{"stl_query/c1/day=2026-11-01/1.parquet", false},
	} {
		if _, ok := parseKey(tc.key); ok != tc.ok {
			t.Errorf("parseKey(%q) ok = %v, want %v", tc.key, ok, tc.ok)
		}
	}
}

func TestTheBoundErrorShowsSizesPeopleRead(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{512, "512 B"},
		{1536, "1.5 KiB (1536 bytes)"},
		{5 << 30, "5.0 GiB (5368709120 bytes)"},
	} {
		if got := formatBytes(tc.n); got != tc.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
