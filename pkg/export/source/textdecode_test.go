package source

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func TestTextTimestampsDecodeToMicrosecondsSinceTheEpoch(t *testing.T) {
	tests := []struct {
		text string
		tz   bool
		want time.Time
	}{
		{"2026-12-06 02:32:00", false, time.Date(2026, 12, 6, 2, 32, 0, 0, time.UTC)},
		{"2026-12-06 02:32:00.5", false, time.Date(2026, 12, 6, 2, 32, 0, 500_000_000, time.UTC)},
		{"1999-12-31 23:59:59.999999", false, time.Date(1999, 12, 31, 23, 59, 59, 999_999_000, time.UTC)},
		{"1900-02-28 00:00:00.000001", false, time.Date(1900, 2, 28, 0, 0, 0, 1000, time.UTC)},
		{"2000-02-29 12:00:00", false, time.Date(2000, 2, 29, 12, 0, 0, 0, time.UTC)},
		{"0001-01-01 00:00:00", false, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"0044-03-15 12:00:00 BC", false, time.Date(-43, 3, 15, 12, 0, 0, 0, time.UTC)},
		{"12345-06-07 08:09:10", false, time.Date(12345, 6, 7, 8, 9, 10, 0, time.UTC)},
		{"2026-11-29 10:00:00.123456+02", true, time.Date(2026, 11, 29, 8, 0, 0, 123_456_000, time.UTC)},
		{"2026-11-29 10:00:00+05:30", true, time.Date(2026, 11, 29, 4, 30, 0, 0, time.UTC)},
		{"1890-01-01 00:00:00-00:09:21", true, time.Date(1890, 1, 1, 0, 9, 21, 0, time.UTC)},
		{"2026-11-29 00:00:00+00", true, time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := parseTimestampText([]byte(tt.text), tt.tz)
		if err != nil {
			t.Errorf("%s: %v", tt.text, err)
			continue
		}
		if want := tt.want.UnixMicro(); got != want {
			t.Errorf("%s: got %d, want %d", tt.text, got, want)
		}
	}
	// Every microsecond of four centuries formats and parses back, as PostgreSQL prints it.
	r := rand.New(rand.NewPCG(1, 2))
	lo, hi := time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	for range 20000 {
		us := lo + r.Int64N(hi-lo)
		tm := time.UnixMicro(us).UTC()
		text := tm.Format("2006-01-02 15:04:05.999999")
		if got, err := parseTimestampText([]byte(text), false); err != nil || got != us {
			t.Fatalf("%s: got %d %v, want %d", text, got, err, us)
		}
	}
	for _, bad := range []string{"", "2026-12-06", "2026-13-01 00:00:00", "2026-12-06T02:32:00", "2026-12-06 02:32:00+02", "06/12/2026 02:32:00"} {
		if _, err := parseTimestampText([]byte(bad), false); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if _, err := parseTimestampText([]byte("2026-12-06 02:32:00"), true); err == nil {
		t.Error("a timestamptz without offset: no error")
	}
	if _, err := parseTimestampText([]byte("infinity"), false); !errors.Is(err, errInfinity) {
		t.Errorf("infinity: %v", err)
	}
}

func TestTextNumericDecodesExactly(t *testing.T) {
	tests := []struct {
		text  string
		scale int
		want  int64
	}{
		{"0", 0, 0},
		{"-42", 0, -42},
		{"12.34", 2, 1234},
		{"-0.0001", 4, -1},
		{"1.5", 3, 1500},
		{"-0.0000000001", 10, -1},
		{"999999999999999999", 0, 999999999999999999},
		{"-99999999.9999999999", 10, -999999999999999999},
		{"7.50", 1, 75},
	}
	for _, tt := range tests {
		c := Column{Name: "n", Kind: KindNumeric, Precision: 18, Scale: tt.scale, text: true}
		var v Vector
		if err := appendTextValue(&v, &c, []byte(tt.text)); err != nil {
			t.Errorf("%s: %v", tt.text, err)
			continue
		}
		if v.Ints[0] != tt.want {
			t.Errorf("%s scale %d: got %d, want %d", tt.text, tt.scale, v.Ints[0], tt.want)
		}
	}
	for _, tt := range []struct {
		text  string
		scale int
	}{{"1.25", 1}, {"9999999999999999999", 0}, {"NaN", 2}, {"Infinity", 0}, {"1e5", 0}, {"", 0}, {"-", 0}, {"1.2.3", 2}, {" 1", 0}} {
		c := Column{Name: "n", Kind: KindNumeric, Precision: 18, Scale: tt.scale, text: true}
		var v Vector
		if err := appendTextValue(&v, &c, []byte(tt.text)); err == nil {
			t.Errorf("%q scale %d: no error", tt.text, tt.scale)
		}
	}
	wide := Column{Name: "n", Kind: KindNumeric, Precision: 38, Scale: 10, text: true}
	var v Vector
	for _, s := range []string{"-12345678901234567890123456.1234567891", "0.0000000000"} {
		if err := appendTextValue(&v, &wide, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(string(v.Text(0)), " ", string(v.Text(1))); got != "-12345678901234567890123456.1234567891 0.0000000000" {
		t.Errorf("wide numerics: %s", got)
	}
}
