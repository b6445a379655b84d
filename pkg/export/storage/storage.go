// Package storage puts archive objects where the archive lives. An object becomes visible under
// its key only once it is whole, so a reader (or a crash) never sees half a file, and writing the
// same key again replaces it: that is what makes a redone window overwrite instead of duplicate.
package storage

import (
	"context"
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
