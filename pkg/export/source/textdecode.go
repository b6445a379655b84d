package source

import (
	"errors"
	"fmt"
	"math"
)

// appendTextValue decodes one non-NULL value of a decoded kind that was read in text format
// (see columnOf): numeric as an exact decimal, bool as t/f, timestamps in the ISO DateStyle
// that Redshift and PostgreSQL use by default.
func appendTextValue(v *Vector, c *Column, raw []byte) error {
	switch c.Kind {
	case KindNumeric:
		neg, whole, frac, err := decimalParts(raw)
		if err != nil {
			return err
		}
		if c.Unscaled() {
			u, err := unscaledDecimal(neg, whole, frac, c.Scale)
			if err != nil {
				return err
			}
			v.Ints = append(v.Ints, u)
			return nil
		}
		// The server's text form is already the plain decimal with exactly the value's scale
		// that the binary decoder writes (PostgreSQL's numeric_out).
		v.Bytes = append(v.Bytes, raw...)
		v.Ends = append(v.Ends, len(v.Bytes))
	case KindBool:
		switch string(raw) {
		case "t", "true":
			v.Bools = append(v.Bools, true)
		case "f", "false":
			v.Bools = append(v.Bools, false)
		default:
			return fmt.Errorf("boolean value %q", raw)
		}
	case KindTimestamp, KindTimestampTZ:
		us, err := parseTimestampText(raw, c.Kind == KindTimestampTZ)
		if err != nil {
			return err
		}
		v.Ints = append(v.Ints, us)
	default:
		return fmt.Errorf("no text decoder for kind %v", c.Kind)
	}
	return nil
}

// decimalParts splits the text form of a numeric: an optional minus, integer digits, and
// optionally a point and fractional digits. NaN and infinities have no exact decimal form.
func decimalParts(raw []byte) (neg bool, whole, frac []byte, err error) {
	s := raw
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	whole, s = s[:i], s[i:]
	if len(s) > 0 && s[0] == '.' {
		s = s[1:]
		j := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		frac, s = s[:j], s[j:]
	}
	if len(s) > 0 || len(whole)+len(frac) == 0 {
		switch string(raw) {
		case "NaN", "Infinity", "-Infinity":
			return false, nil, nil, errNumericNaN
		}
		return false, nil, nil, fmt.Errorf("numeric value %q is not a plain decimal", raw)
	}
	return neg, whole, frac, nil
}

// unscaledDecimal is the decimal whole.frac times 10^scale as an int64. The server rounds a
// value to its column's scale, so non-zero digits beyond scale, or an overflow, are errors.
func unscaledDecimal(neg bool, whole, frac []byte, scale int) (int64, error) {
	var acc int64
	push := func(d byte) error {
		dd := int64(d - '0')
		if acc > (math.MaxInt64-dd)/10 {
			return errors.New("numeric value does not fit in 18 digits")
		}
		acc = acc*10 + dd
		return nil
	}
	for _, d := range whole {
		if err := push(d); err != nil {
			return 0, err
		}
	}
	for i := range scale {
		d := byte('0')
		if i < len(frac) {
			d = frac[i]
		}
		if err := push(d); err != nil {
			return 0, err
		}
	}
	for _, d := range frac[min(scale, len(frac)):] {
		if d != '0' {
			return 0, fmt.Errorf("numeric value has more than %d fractional digits", scale)
		}
	}
	if neg {
		acc = -acc
	}
	return acc, nil
}

// parseTimestampText reads a timestamp in ISO DateStyle, "YYYY-MM-DD HH:MM:SS[.ffffff]", then
// for timestamptz the offset "+HH[:MM[:SS]]", and " BC" for years before 1. It returns
// microseconds since 1970-01-01 (UTC for timestamptz).
func parseTimestampText(raw []byte, tz bool) (int64, error) {
	switch string(raw) {
	case "infinity", "-infinity":
		return 0, errInfinity
	}
	bad := func() (int64, error) { return 0, fmt.Errorf("timestamp value %q is not in ISO format", raw) }
	p := textParser{b: raw}
	year, ok := p.number(4, 9)
	if !ok || !p.skip('-') {
		return bad()
	}
	month, ok1 := p.number(2, 2)
	ok2 := p.skip('-')
	day, ok3 := p.number(2, 2)
	ok4 := p.skip(' ')
	hour, ok5 := p.number(2, 2)
	ok6 := p.skip(':')
	minute, ok7 := p.number(2, 2)
	ok8 := p.skip(':')
	sec, ok9 := p.number(2, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8 && ok9) || month < 1 || month > 12 || day < 1 || day > 31 {
		return bad()
	}
	var micros int64
	if p.skip('.') {
		start := p.i
		f, ok := p.number(1, 6)
		if !ok {
			return bad()
		}
		for n := p.i - start; n < 6; n++ {
			f *= 10
		}
		micros = f
	}
	var offset int64
	if tz {
		sign := int64(1)
		switch {
		case p.skip('+'):
		case p.skip('-'):
			sign = -1
		default:
			return bad()
		}
		oh, ok := p.number(2, 2)
		if !ok {
			return bad()
		}
		offset = oh * 3600
		if p.skip(':') {
			om, ok := p.number(2, 2)
			if !ok {
				return bad()
			}
			offset += om * 60
			if p.skip(':') {
				os, ok := p.number(2, 2)
				if !ok {
					return bad()
				}
				offset += os
			}
		}
		offset *= sign
	}
	if p.rest() == " BC" {
		year, p.i = 1-year, len(p.b)
	}
	if p.i != len(p.b) {
		return bad()
	}
	secs := daysFromCivil(year, month, day)*86400 + hour*3600 + minute*60 + sec - offset
	return secs*1_000_000 + micros, nil
}

type textParser struct {
	b []byte
	i int
}

// number reads between min and max decimal digits.
func (p *textParser) number(min, max int) (int64, bool) {
	var n int64
	start := p.i
	for p.i < len(p.b) && p.i-start < max && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		n = n*10 + int64(p.b[p.i]-'0')
		p.i++
	}
	return n, p.i-start >= min
}

func (p *textParser) skip(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *textParser) rest() string { return string(p.b[p.i:]) }

// daysFromCivil counts days from 1970-01-01 to a proleptic Gregorian date (year 0 is 1 BC).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
