package storage

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Local is an archive in a local folder.
type Local struct {
	Root string
}

// tmpPrefix starts the names of objects being written: hidden, and not ending in .parquet, so
// no reader's glob picks them up.
const tmpPrefix = "."

func (l Local) String() string { return "local archive " + l.Root }

func (l Local) path(key string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(key))
	if filepath.IsAbs(clean) || clean == "." || strings.HasPrefix(clean, "..") {
		return "", fmt.Errorf("storage: key %q is outside the archive", key)
	}
	return filepath.Join(l.Root, clean), nil
}

// Create implements Archive. The object is written to a hidden file next to its final name and
// renamed into place on Commit. Left-overs of an earlier attempt at the same key (a crash in
// the middle of writing) are removed first.
func (l Local) Create(ctx context.Context, key string) (Object, error) {
	final, err := l.path(key)
	if err != nil {
		return nil, err
	}
	dir, name := filepath.Split(final)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	stale, _ := filepath.Glob(filepath.Join(dir, tmpPrefix+name+".tmp-*"))
	for _, s := range stale {
		os.Remove(s)
	}
	f, err := os.CreateTemp(dir, tmpPrefix+name+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return &localObject{f: f, buf: bufio.NewWriterSize(f, 1<<20), final: final}, nil
}

// CheckWritable implements Archive.
func (l Local) CheckWritable(ctx context.Context) error {
	if err := os.MkdirAll(l.Root, 0o755); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	f, err := os.CreateTemp(l.Root, tmpPrefix+"writable-*")
	if err != nil {
		return fmt.Errorf("storage: archive is not writable: %w", err)
	}
	f.Close()
	return os.Remove(f.Name())
}

type localObject struct {
	f     *os.File
	buf   *bufio.Writer
	final string
	done  bool
}

func (o *localObject) Write(p []byte) (int, error) { return o.buf.Write(p) }

func (o *localObject) Commit() error {
	if o.done {
		return fmt.Errorf("storage: object already closed")
	}
	o.done = true
	err := o.buf.Flush()
	if err == nil {
		err = o.f.Sync()
	}
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(o.f.Name(), o.final)
	}
	if err != nil {
		os.Remove(o.f.Name())
		return fmt.Errorf("storage: write %s: %w", filepath.Base(o.final), err)
	}
	// The rename is durable only once the folder is synced.
	if d, err := os.Open(filepath.Dir(o.final)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func (o *localObject) Abort() error {
	if o.done {
		return nil
	}
	o.done = true
	o.f.Close()
	return os.Remove(o.f.Name())
}
