package source

// Batch holds up to a few thousand consecutive rows of a result, column by column. Stream reuses
// one Batch for the whole result: its slices are only valid until the callback that received it
// returns.
type Batch struct {
	// Len is the number of rows.
	Len int
	// Cols holds one vector per result column, in result order.
	Cols []Vector
}

// Vector holds the values of one column of a Batch. Every value slice used by the column's kind
// has Len entries; the entry of a NULL row is the zero value. Which slices a kind uses:
//
//   - Ints: int16, int32, int64; date as days since 1970-01-01; timestamp and timestamptz as
//     microseconds since 1970-01-01 00:00:00 (UTC for timestamptz, wall clock for timestamp);
//     numeric when Column.Unscaled, as the value times 10^Scale.
//   - Floats: float32 (converted exactly) and float64.
//   - Bools: bool.
//   - Bytes and Ends: text, and numeric when not Column.Unscaled as an exact decimal string
//     such as "-12.3400". Row i is Bytes[Ends[i-1]:Ends[i]] (from 0 for row 0); see Text.
type Vector struct {
	Null   []bool
	Ints   []int64
	Floats []float64
	Bools  []bool
	Bytes  []byte
	Ends   []int
}

// Text returns the bytes of row i of a text or decimal-string column. They alias the batch.
func (v *Vector) Text(i int) []byte {
	start := 0
	if i > 0 {
		start = v.Ends[i-1]
	}
	return v.Bytes[start:v.Ends[i]]
}

func (v *Vector) reset() {
	v.Null = v.Null[:0]
	v.Ints = v.Ints[:0]
	v.Floats = v.Floats[:0]
	v.Bools = v.Bools[:0]
	v.Bytes = v.Bytes[:0]
	v.Ends = v.Ends[:0]
}

func (b *Batch) reset() {
	b.Len = 0
	for i := range b.Cols {
		b.Cols[i].reset()
	}
}
