package source

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Options tune Stream. The zero value works.
type Options struct {
	// KeepPadding says which char(n) columns keep their trailing blanks. All others are trimmed,
	// as Redshift pads char(n) values to n: the padding is storage, not data — except in the
	// 200-character text chunks of stl_querytext and friends, where a blank at the end of a
	// chunk is part of the statement. varchar and text are never trimmed.
	KeepPadding func(column string) bool
	// BatchRows is the most rows a batch holds; 4096 when zero.
	BatchRows int
	// BatchBytes cuts a batch early once its raw values reach this many bytes, so wide text
	// columns keep memory bounded too; 8 MiB when zero.
	BatchBytes int
	// BinaryNumeric requests numeric values in binary. Only for a server known to send numeric
	// in binary to a client that negotiated nothing (PostgreSQL); Redshift does not (see
	// columnOf), so the exporter leaves it off and reads numeric as exact decimal text.
	BinaryNumeric bool
}

const (
	defaultBatchRows  = 4096
	defaultBatchBytes = 8 << 20
)

// Stream runs one query and hands its rows to each, batch by batch. start is called once with
// the result's columns before the first batch, even when there are no rows.
//
// Two batches are refilled in turn: a batch and everything it points to are only valid until
// the call of each that received it returns. each runs on a goroutine of its own, one call at a
// time and in row order, while Stream decodes the next batch; its last call has returned when
// Stream returns. Memory is bounded by the two batches, whatever the size of the result.
//
// Values are read in binary format where Redshift supports it and in text format otherwise
// (see columnOf), and decoded in place, without boxing. Types this package does not decode (see
// Kind) are read in text format and become text columns. NaN and infinite
// numerics, timestamps and dates make Stream fail with an error naming the column: Redshift has
// none of them, and the archive has no faithful way to keep them.
//
// The statement is prepared on conn under its own SQL text, so later calls with the same SQL
// skip the describe round trip. If Stream fails after the query started (including when each
// returns an error), it cancels the query rather than reading the rest of the result; conn may
// then be closed and must be checked with IsClosed before reuse. It returns the number of rows
// each accepted.
func Stream(ctx context.Context, conn *pgx.Conn, sql string, args []any, opts Options,
	start func([]Column) error, each func(*Batch) error) (int64, error) {
	sd, err := conn.Prepare(ctx, sql, sql)
	if err != nil {
		return 0, fmt.Errorf("source: prepare: %w", err)
	}
	cols := make([]Column, len(sd.Fields))
	formats := make(pgx.QueryResultFormats, len(sd.Fields))
	w := wire{binaryNumeric: opts.BinaryNumeric, integerDatetimes: conn.PgConn().ParameterStatus("integer_datetimes") == "on"}
	for i, f := range sd.Fields {
		c, binary := columnOf(f, opts.KeepPadding, w)
		cols[i] = c
		formats[i] = pgx.TextFormatCode
		if binary {
			formats[i] = pgx.BinaryFormatCode
		}
	}
	if err := start(cols); err != nil {
		return 0, err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows, err := conn.Query(ctx, sql, append([]any{formats}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("source: query: %w", err)
	}
	// On an early return, cancel before Close so that Close does not drain the result.
	defer rows.Close()
	defer cancel()

	fds := rows.FieldDescriptions()
	if len(fds) != len(cols) {
		return 0, fmt.Errorf("source: query returned %d columns, its description %d", len(fds), len(cols))
	}
	for i := range fds {
		if fds[i].Format != formats[i] || fds[i].DataTypeOID != cols[i].TypeOID {
			return 0, fmt.Errorf("source: column %q changed type or format since it was described", cols[i].Name)
		}
	}

	maxRows, maxBytes := opts.BatchRows, opts.BatchBytes
	if maxRows <= 0 {
		maxRows = defaultBatchRows
	}
	if maxBytes <= 0 {
		maxBytes = defaultBatchBytes
	}

	// Two batches circulate between this goroutine, which reads and decodes, and a consumer
	// goroutine that runs each: on two cores the server, the decoding and the encoding of the
	// previous batch then overlap instead of taking turns.
	free := make(chan *Batch, 2)
	full := make(chan *Batch)
	for range 2 {
		free <- &Batch{Cols: make([]Vector, len(cols))}
	}
	var (
		passed  int64 // rows each accepted; the consumer's until done is closed
		eachErr error
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		for b := range full {
			if eachErr == nil {
				if eachErr = each(b); eachErr != nil {
					cancel() // stop the server instead of decoding rows nobody wants
				} else {
					passed += int64(b.Len)
				}
			}
			b.reset()
			free <- b
		}
	}()

	readErr := decodeRows(rows, cols, free, full, maxRows, maxBytes)
	close(full)
	<-done
	switch {
	case eachErr != nil:
		return passed, eachErr
	case readErr != nil:
		return passed, readErr
	}
	return passed, nil
}

// decodeRows decodes every row of rows into batches taken from free and hands each batch to
// full once it holds maxRows rows or maxBytes bytes of raw values, and the last one at the end.
func decodeRows(rows pgx.Rows, cols []Column, free <-chan *Batch, full chan<- *Batch, maxRows, maxBytes int) error {
	batch := <-free
	var read int64
	size := 0
	for rows.Next() {
		for i, raw := range rows.RawValues() {
			v, c := &batch.Cols[i], &cols[i]
			if raw == nil {
				v.Null = append(v.Null, true)
				appendNull(v, c)
				continue
			}
			v.Null = append(v.Null, false)
			if err := appendValue(v, c, raw); err != nil {
				return fmt.Errorf("source: column %q, row %d: %w", c.Name, read+1, err)
			}
			size += len(raw)
		}
		batch.Len++
		read++
		if batch.Len >= maxRows || size >= maxBytes {
			full <- batch
			batch = <-free
			size = 0
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("source: read rows: %w", err)
	}
	if batch.Len > 0 {
		full <- batch
	}
	return nil
}
