package tables

import (
	"strings"
	"testing"
	"time"
)

func TestAPartialEntryReadsTheWindowsFromThroughOn(t *testing.T) {
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	name := func(lo, hi time.Duration) string {
		k := ObjectKey("stl_query", "c1", day.Add(lo), day.Add(hi))
		return k[strings.LastIndexByte(k, '/')+1:]
	}
	partial := DayLayout{Generation: 2, Parts: 1, Through: day.Add(time.Hour)}
	for _, c := range []struct {
		name string
		d    DayLayout
		want bool
	}{
		{name(55*time.Minute, time.Hour), partial, false},
		{name(time.Hour, 65*time.Minute), partial, true},
		{name(time.Hour, 65*time.Minute), DayLayout{}, true},
		{name(time.Hour, 65*time.Minute), DayLayout{Generation: 1, Parts: 1}, false},
		{name(time.Hour, 65*time.Minute), DayLayout{Retired: true}, false},
		{"not-a-window.parquet", partial, false},
	} {
		if got := c.d.ReadsWindow(c.name); got != c.want {
			t.Errorf("%+v reads %s: %v, want %v", c.d, c.name, got, c.want)
		}
	}
	if lo, hi, ok := WindowOf(name(time.Hour, 65*time.Minute)); !ok || !lo.Equal(day.Add(time.Hour)) || !hi.Equal(day.Add(65*time.Minute)) {
		t.Errorf("WindowOf: %s %s %v", lo, hi, ok)
	}
}

func TestALayoutWithAThroughOutsideItsDayIsRefused(t *testing.T) {
	ok := `{"days":{"2026-03-01":{"generation":1,"parts":1,"through":"2026-03-02T00:00:00Z","at":"2026-03-01T10:00:00Z"}}}`
	if _, err := ParseLayout([]byte(ok)); err != nil {
		t.Errorf("through at the next midnight: %v", err)
	}
	bad := `{"days":{"2026-03-01":{"generation":1,"parts":1,"through":"2026-03-02T00:05:00Z","at":"2026-03-01T10:00:00Z"}}}`
	if _, err := ParseLayout([]byte(bad)); err == nil || !strings.Contains(err.Error(), "not in the day") {
		t.Errorf("through past the day: %v", err)
	}
}
