package export

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/source"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// KeySumColumn is the column whose sum over a window the manifest keeps next to the row count:
// the query id, which every STL table has. A late row is a new query, so it changes the sum even
// when another row of the window was lost at the same time. Custom queries have no such column
// and are compared by count alone.
const KeySumColumn = "query"

// digest sums up the rows of one window as the exporter wrote them: their count, the sum of the
// key column and an order-independent checksum, the sum (mod 2^64) of a 64-bit hash of each
// row's canonical encoding of every column. A sum, not a xor: two equal rows do not cancel.
type digest struct {
	cols     []source.Column
	key      int // index of KeySumColumn, -1 when not summed
	rows     int64
	keySum   int64
	checksum uint64
	buf      []byte
}

func newDigest(t tables.Table, cols []source.Column) *digest {
	d := &digest{cols: cols, key: -1}
	if sumsKey(t) {
		for i, c := range cols {
			if c.Name == KeySumColumn && (c.Kind == source.KindInt16 || c.Kind == source.KindInt32 || c.Kind == source.KindInt64) {
				d.key = i
			}
		}
	}
	return d
}

// add folds a batch into the digest.
func (d *digest) add(b *source.Batch) {
	for r := 0; r < b.Len; r++ {
		d.buf = d.buf[:0]
		for i := range b.Cols {
			d.buf = appendCanonical(d.buf, &d.cols[i], &b.Cols[i], r)
		}
		d.checksum += mix64(fnv64a(d.buf))
		if d.key >= 0 && !b.Cols[d.key].Null[r] {
			d.keySum += b.Cols[d.key].Ints[r]
		}
	}
	d.rows += int64(b.Len)
}

// appendCanonical encodes one value so that equal values encode alike whatever the wire format
// they came in: a NULL marker, then the value; numerics as their exact decimal string.
func appendCanonical(dst []byte, c *source.Column, v *source.Vector, r int) []byte {
	if v.Null[r] {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	switch c.Kind {
	case source.KindInt16, source.KindInt32, source.KindInt64, source.KindTimestamp, source.KindTimestampTZ, source.KindDate:
		return binary.LittleEndian.AppendUint64(dst, uint64(v.Ints[r]))
	case source.KindFloat32, source.KindFloat64:
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.Floats[r]))
	case source.KindBool:
		if v.Bools[r] {
			return append(dst, 1)
		}
		return append(dst, 0)
	case source.KindNumeric:
		if c.Unscaled() {
			s := decimalString(v.Ints[r], c.Scale)
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			return append(dst, s...)
		}
	}
	t := v.Text(r)
	dst = binary.AppendUvarint(dst, uint64(len(t)))
	return append(dst, t...)
}

// decimalString writes an unscaled numeric as the server's text form does: scale digits after
// the point.
func decimalString(unscaled int64, scale int) string {
	neg := unscaled < 0
	u := uint64(unscaled)
	if neg {
		u = -u
	}
	s := strconv.FormatUint(u, 10)
	if scale > 0 {
		for len(s) <= scale {
			s = "0" + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// fnv64a is FNV-1a, 64 bits (as hash/fnv), without an allocation per row.
func fnv64a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// mix64 spreads the bits of a hash (splitmix64's finaliser), so that sums of row hashes do not
// keep FNV's weak low bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
