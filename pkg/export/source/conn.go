package source

import (
	"bufio"
	"io"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// DefaultReadBuffer is the read buffer BufferReads uses when given no size.
const DefaultReadBuffer = 256 << 10

// BufferReads makes connections made with cfg read from the network in blocks of up to size
// bytes (DefaultReadBuffer when size ≤ 0). pgx reads at most 8 KiB per system call; streaming
// a large result then spends a sixth of the reader's CPU in reads, and about half as much with
// 256 KiB blocks.
//
// Apply it before connecting. Such connections must not be hijacked (PgConn.Hijack,
// PgConn.SyncConn): pgx cannot see into this buffer.
func BufferReads(cfg *pgx.ConnConfig, size int) {
	if size <= 0 {
		size = DefaultReadBuffer
	}
	cfg.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		return pgproto3.NewFrontend(bufio.NewReaderSize(r, size), w)
	}
}
