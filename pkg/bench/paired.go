package bench

import (
	"sort"
	"time"
)

// Paired times two ways of doing the same thing n times each, interleaved so that both see the
// same machine, and returns the time of every run of each. The first error stops it.
func Paired(n int, a, b func() error) (ta, tb []time.Duration, err error) {
	for range n {
		for _, side := range []struct {
			f   func() error
			out *[]time.Duration
		}{{a, &ta}, {b, &tb}} {
			t0 := time.Now()
			if err := side.f(); err != nil {
				return ta, tb, err
			}
			*side.out = append(*side.out, time.Since(t0))
		}
	}
	return ta, tb, nil
}

// Percentile is the p-th percentile (0–100) of ds by the nearest-rank method; 0 when empty.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	k := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(k, 0), len(s)-1)]
}
