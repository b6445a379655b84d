package source

import (
	"encoding/binary"
	"testing"
)

// wireNumeric builds the binary form of a numeric from base-10000 digits.
func wireNumeric(sign uint16, weight int16, dscale uint16, digits ...uint16) []byte {
	b := make([]byte, 8+2*len(digits))
	binary.BigEndian.PutUint16(b[0:], uint16(len(digits)))
	binary.BigEndian.PutUint16(b[2:], uint16(weight))
	binary.BigEndian.PutUint16(b[4:], sign)
	binary.BigEndian.PutUint16(b[6:], dscale)
	for i, d := range digits {
		binary.BigEndian.PutUint16(b[8+2*i:], d)
	}
	return b
}

func TestNumericDecodesToExactDecimalText(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
		want string
	}{
		{"zero", wireNumeric(numericPos, 0, 0), "0"},
		{"zero with scale", wireNumeric(numericPos, 0, 2), "0.00"},
		{"small negative fraction", wireNumeric(numericNeg, -1, 4, 1), "-0.0001"},
		{"fraction far right of the point", wireNumeric(numericPos, -2, 6, 1200), "0.000012"},
		{"mixed", wireNumeric(numericPos, 3, 4, 12, 3456, 7890, 1234, 5678), "12345678901234.5678"},
		{"trailing zero groups in the integer part", wireNumeric(numericPos, 2, 0, 5), "500000000"},
		{"scale shorter than last group", wireNumeric(numericPos, 0, 2, 7, 5000), "7.50"},
		{"big", wireNumeric(numericNeg, 7, 10, 1234, 5678, 9012, 3456, 7890, 1234, 5678, 9012, 3456, 7890, 12),
			"-12345678901234567890123456789012.3456789000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := parseNumeric(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(n.appendDecimal(nil)); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNumericUnscaledIsValueTimesTenToTheScale(t *testing.T) {
	tests := []struct {
		name  string
		raw   []byte
		scale int
		want  int64
	}{
		{"zero", wireNumeric(numericPos, 0, 2), 2, 0},
		{"cents", wireNumeric(numericPos, 0, 2, 12, 3400), 2, 1234},
		{"negative small", wireNumeric(numericNeg, -1, 4, 1), 4, -1},
		{"eighteen digits", wireNumeric(numericPos, 3, 4, 12, 3456, 7890, 1234, 5678), 4, 123456789012345678},
		{"integer with zero groups", wireNumeric(numericPos, 1, 0, 3), 0, 30000},
		{"integer column scale", wireNumeric(numericPos, 1, 3, 3), 3, 30000000},
		{"half", wireNumeric(numericPos, -1, 1, 5000), 1, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := parseNumeric(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := n.unscaled(tt.scale)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestNumericUnscaledRefusesWhatDoesNotFit(t *testing.T) {
	tests := []struct {
		name  string
		raw   []byte
		scale int
	}{
		{"more fractional digits than scale", wireNumeric(numericPos, -1, 4, 1), 2},
		{"more than int64", wireNumeric(numericPos, 5, 0, 9, 9999, 9999, 9999, 9999, 9999), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := parseNumeric(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := n.unscaled(tt.scale); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestNumericNaNAndInfinityAreErrors(t *testing.T) {
	for _, sign := range []uint16{numericNaN, numericPInf, numericNInf} {
		if _, err := parseNumeric(wireNumeric(sign, 0, 0)); err != errNumericNaN {
			t.Errorf("sign %#x: got %v, want errNumericNaN", sign, err)
		}
	}
}
