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
}

const (
	defaultBatchRows  = 4096
	defaultBatchBytes = 8 << 20
)

// Stream runs one query and hands its rows to each, batch by batch. start is called once with
// the result's columns before the first batch, even when there are no rows. The same Batch is
// refilled for every call of each: it and everything it points to are only valid until each
// returns. Memory is bounded by one batch, whatever the size of the result.
//
// Values are read in binary format and decoded in place, without boxing. Types this package
// does not decode (see Kind) are read in text format and become text columns. NaN and infinite
// numerics, timestamps and dates make Stream fail with an error naming the column: Redshift has
// none of them, and the archive has no faithful way to keep them.
//
// The statement is prepared on conn under its own SQL text, so later calls with the same SQL
// skip the describe round trip. If Stream fails after the query started (including when start
// or each return an error), it cancels the query rather than reading the rest of the result;
// conn may then be closed and must be checked with IsClosed before reuse. It returns the number
// of rows passed to each.
func Stream(ctx context.Context, conn *pgx.Conn, sql string, args []any, opts Options,
	start func([]Column) error, each func(*Batch) error) (int64, error) {
	sd, err := conn.Prepare(ctx, sql, sql)
	if err != nil {
		return 0, fmt.Errorf("source: prepare: %w", err)
	}
	cols := make([]Column, len(sd.Fields))
	formats := make(pgx.QueryResultFormats, len(sd.Fields))
	for i, f := range sd.Fields {
		c, binary := columnOf(f, opts.KeepPadding)
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
	batch := &Batch{Cols: make([]Vector, len(cols))}
	var total int64
	emit := func() error {
		if batch.Len == 0 {
			return nil
		}
		if err := each(batch); err != nil {
			return err
		}
		total += int64(batch.Len)
		batch.reset()
		return nil
	}

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
				return total, fmt.Errorf("source: column %q, row %d: %w", c.Name, total+int64(batch.Len)+1, err)
			}
			size += len(raw)
		}
		batch.Len++
		if batch.Len >= maxRows || size >= maxBytes {
			if err := emit(); err != nil {
				return total, err
			}
			size = 0
		}
	}
	if err := rows.Err(); err != nil {
		return total, fmt.Errorf("source: read rows: %w", err)
	}
	if err := emit(); err != nil {
		return total, err
	}
	return total, nil
}
