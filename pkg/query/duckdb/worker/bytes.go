package worker

import (
	"fmt"
	"strconv"
	"strings"
)

// units are DuckDB's memory units: the decimal ones are powers of 1000, the binary ones of 1024.
var units = []struct {
	suffix string
	factor uint64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"t", 1e12},
	{"b", 1}, {"", 1},
}

// ParseBytes reads a memory size the way DuckDB's memory_limit does: "1GB", "512MiB", "2 GB".
func ParseBytes(s string) (uint64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for _, u := range units {
		if !strings.HasSuffix(t, u.suffix) {
			continue
		}
		num := strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f <= 0 {
			break
		}
		return uint64(f * float64(u.factor)), nil
	}
	return 0, fmt.Errorf("%q is not a memory size such as 1GB or 512MiB", s)
}

func formatBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	default:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
}
