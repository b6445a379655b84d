// Package storage puts archive objects where the archive lives. An object becomes visible under
// its key only once it is whole, so a reader (or a crash) never sees half a file, and writing the
// same key again replaces it: that is what makes a redone window overwrite instead of duplicate.
package storage

import (
	"context"
	"errors"
	"io"
)

// Archive stores objects by key (a slash-separated path below the archive root).
type Archive interface {
	// Create starts an object at key. Nothing is visible under key until Commit.
	Create(ctx context.Context, key string) (Object, error)
	// CheckWritable proves the archive accepts writes, without leaving anything behind.
	CheckWritable(ctx context.Context) error
	// String names the archive for messages (no secrets).
	String() string
}

// Object is an object being written.
type Object interface {
	io.Writer
	// Commit makes the object visible under its key, replacing any object there.
	Commit() error
	// Abort discards what was written. Safe after Commit (then it does nothing).
	Abort() error
}

// Objects reads, lists and removes what Create wrote: compaction and retention rewrite closed
// days with it. Keys are relative to the archive root, as for Create.
type Objects interface {
	// List returns the objects whose keys start with prefix (a folder ends in "/"), sorted by
	// key. Objects being written are not listed.
	List(ctx context.Context, prefix string) ([]Info, error)
	// Open reads the object at key; ErrNotFound when there is none.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes the object at key. A missing object is not an error, so a deletion that a
	// crash interrupted can simply be done again.
	Delete(ctx context.Context, key string) error
}

// Info describes one listed object.
type Info struct {
	Key  string
	Size int64
}

// ErrNotFound is returned by Open for a key that holds no object.
var ErrNotFound = errors.New("storage: no such object")
