package source

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5/pgtype"
)

// The binary wire format counts timestamps in microseconds and dates in days from
// 2000-01-01; the vectors count from 1970-01-01 like Parquet and most readers.
const (
	pgEpochMicros = 946_684_800_000_000
	pgEpochDays   = 10_957
)

var errInfinity = errors.New("infinite value has no archive representation")

// appendValue decodes one non-NULL raw value of column c onto v. KindText columns take the raw
// bytes (text and binary forms are the same); other kinds read in text format are parsed by
// appendTextValue.
func appendValue(v *Vector, c *Column, raw []byte) error {
	if c.text {
		return appendTextValue(v, c, raw)
	}
	switch c.Kind {
	case KindText:
		if c.TypeOID == pgtype.BPCharOID && !c.KeepPadding {
			raw = trimBlanks(raw)
		}
		v.Bytes = append(v.Bytes, raw...)
		v.Ends = append(v.Ends, len(v.Bytes))
	case KindInt16:
		if len(raw) != 2 {
			return sizeError(c, raw)
		}
		v.Ints = append(v.Ints, int64(int16(binary.BigEndian.Uint16(raw))))
	case KindInt32:
		if len(raw) != 4 {
			return sizeError(c, raw)
		}
		v.Ints = append(v.Ints, int64(int32(binary.BigEndian.Uint32(raw))))
	case KindInt64:
		if len(raw) != 8 {
			return sizeError(c, raw)
		}
		v.Ints = append(v.Ints, int64(binary.BigEndian.Uint64(raw)))
	case KindTimestamp, KindTimestampTZ:
		if len(raw) != 8 {
			return sizeError(c, raw)
		}
		us := int64(binary.BigEndian.Uint64(raw))
		if us == math.MaxInt64 || us == math.MinInt64 {
			return errInfinity
		}
		v.Ints = append(v.Ints, us+pgEpochMicros)
	case KindDate:
		if len(raw) != 4 {
			return sizeError(c, raw)
		}
		d := int32(binary.BigEndian.Uint32(raw))
		if d == math.MaxInt32 || d == math.MinInt32 {
			return errInfinity
		}
		v.Ints = append(v.Ints, int64(d)+pgEpochDays)
	case KindFloat32:
		if len(raw) != 4 {
			return sizeError(c, raw)
		}
		v.Floats = append(v.Floats, float64(math.Float32frombits(binary.BigEndian.Uint32(raw))))
	case KindFloat64:
		if len(raw) != 8 {
			return sizeError(c, raw)
		}
		v.Floats = append(v.Floats, math.Float64frombits(binary.BigEndian.Uint64(raw)))
	case KindBool:
		if len(raw) != 1 {
			return sizeError(c, raw)
		}
		v.Bools = append(v.Bools, raw[0] != 0)
	case KindNumeric:
		n, err := parseNumeric(raw)
		if err != nil {
			return err
		}
		if c.Unscaled() {
			u, err := n.unscaled(c.Scale)
			if err != nil {
				return err
			}
			v.Ints = append(v.Ints, u)
			break
		}
		v.Bytes = n.appendDecimal(v.Bytes)
		v.Ends = append(v.Ends, len(v.Bytes))
	default:
		return fmt.Errorf("no decoder for kind %v", c.Kind)
	}
	return nil
}

// appendNull records a NULL in v, keeping every slice of the column's kind aligned with rows.
func appendNull(v *Vector, c *Column) {
	switch c.Kind {
	case KindText:
		v.Ends = append(v.Ends, len(v.Bytes))
	case KindNumeric:
		if c.Unscaled() {
			v.Ints = append(v.Ints, 0)
		} else {
			v.Ends = append(v.Ends, len(v.Bytes))
		}
	case KindFloat32, KindFloat64:
		v.Floats = append(v.Floats, 0)
	case KindBool:
		v.Bools = append(v.Bools, false)
	default:
		v.Ints = append(v.Ints, 0)
	}
}

// trimBlanks drops the trailing blanks that char(n) pads its values with. Redshift pads to the
// declared width (char(136) table names are mostly blanks), so it skips eight at a time.
func trimBlanks(b []byte) []byte {
	const blanks = 0x2020202020202020
	n := len(b)
	for n >= 8 && binary.LittleEndian.Uint64(b[n-8:]) == blanks {
		n -= 8
	}
	for n > 0 && b[n-1] == ' ' {
		n--
	}
	return b[:n]
}

func sizeError(c *Column, raw []byte) error {
	return fmt.Errorf("%v value of %d bytes", c.Kind, len(raw))
}

// numeric is a binary numeric value: base-10000 digits, most significant first, the first
// digit worth 10000^weight, and dscale decimal digits after the point.
type numeric struct {
	neg    bool
	weight int
	dscale int
	digits []byte // big-endian int16 digit pairs, aliasing the raw value
}

// Sign words of the binary numeric format.
const (
	numericPos  = 0x0000
	numericNeg  = 0x4000
	numericNaN  = 0xC000
	numericPInf = 0xD000
	numericNInf = 0xF000
)

var errNumericNaN = errors.New("numeric NaN or infinity has no exact decimal representation")

func parseNumeric(raw []byte) (numeric, error) {
	if len(raw) < 8 {
		return numeric{}, fmt.Errorf("numeric value of %d bytes", len(raw))
	}
	ndigits := int(binary.BigEndian.Uint16(raw[0:]))
	n := numeric{
		weight: int(int16(binary.BigEndian.Uint16(raw[2:]))),
		dscale: int(binary.BigEndian.Uint16(raw[6:])),
	}
	switch binary.BigEndian.Uint16(raw[4:]) {
	case numericPos:
	case numericNeg:
		n.neg = true
	case numericNaN, numericPInf, numericNInf:
		return numeric{}, errNumericNaN
	default:
		return numeric{}, errors.New("numeric value with an unknown sign")
	}
	if len(raw) != 8+2*ndigits {
		return numeric{}, fmt.Errorf("numeric value of %d bytes for %d digits", len(raw), ndigits)
	}
	n.digits = raw[8:]
	return n, nil
}

func (n numeric) digit(i int) int {
	if i < 0 || 2*i >= len(n.digits) {
		return 0
	}
	return int(binary.BigEndian.Uint16(n.digits[2*i:]))
}

var pow10 = [...]int{1000, 100, 10, 1}

// unscaled returns n × 10^scale as an int64. It fails if n has non-zero digits beyond scale or
// does not fit; the server rounds values to their column's scale, so neither happens for
// numeric(p,s) with p ≤ 18.
func (n numeric) unscaled(scale int) (int64, error) {
	var acc int64
	ndigits := len(n.digits) / 2
	for i := range ndigits {
		d := n.digit(i)
		for j, p := range pow10 {
			dd := int64(d / p % 10)
			// exp is the power of ten this decimal digit stands for.
			exp := 4*(n.weight-i) + 3 - j
			if exp < -scale {
				if dd != 0 {
					return 0, fmt.Errorf("numeric value has more than %d fractional digits", scale)
				}
				continue
			}
			if acc > (math.MaxInt64-dd)/10 {
				return 0, errors.New("numeric value does not fit in 18 digits")
			}
			acc = acc*10 + dd
		}
	}
	// Digits below the last stored one are zeros down to 10^-scale.
	low := 4*(n.weight-ndigits+1) + scale
	if ndigits == 0 {
		low = 0
	}
	for ; low > 0; low-- {
		if acc > math.MaxInt64/10 {
			return 0, errors.New("numeric value does not fit in 18 digits")
		}
		acc *= 10
	}
	if n.neg {
		acc = -acc
	}
	return acc, nil
}

// appendDecimal writes n in plain decimal notation with exactly dscale fractional digits, the
// form PostgreSQL's own output function produces.
func (n numeric) appendDecimal(dst []byte) []byte {
	if n.neg {
		dst = append(dst, '-')
	}
	if n.weight < 0 {
		dst = append(dst, '0')
	} else {
		for i := 0; i <= n.weight; i++ {
			d := n.digit(i)
			if i == 0 {
				dst = appendInt(dst, d)
				continue
			}
			dst = append(dst, byte('0'+d/1000), byte('0'+d/100%10), byte('0'+d/10%10), byte('0'+d%10))
		}
	}
	if n.dscale == 0 {
		return dst
	}
	dst = append(dst, '.')
	written := 0
	for i := n.weight + 1; written < n.dscale; i++ {
		d := n.digit(i)
		for _, p := range pow10 {
			if written == n.dscale {
				break
			}
			dst = append(dst, byte('0'+d/p%10))
			written++
		}
	}
	return dst
}

func appendInt(dst []byte, d int) []byte {
	switch {
	case d >= 1000:
		return append(dst, byte('0'+d/1000), byte('0'+d/100%10), byte('0'+d/10%10), byte('0'+d%10))
	case d >= 100:
		return append(dst, byte('0'+d/100), byte('0'+d/10%10), byte('0'+d%10))
	case d >= 10:
		return append(dst, byte('0'+d/10), byte('0'+d%10))
	}
	return append(dst, byte('0'+d))
}
