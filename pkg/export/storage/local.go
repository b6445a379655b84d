package storage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
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

// List implements Objects. Hidden names (objects being written) are left out.
func (l Local) List(ctx context.Context, prefix string) ([]Info, error) {
	var out []Info
	dir, base := path.Split(prefix)
	start, err := l.path(strings.TrimSuffix(dir, "/"))
	if dir == "" {
		start, err = l.Root, nil
	}
	if err != nil {
		return nil, err
	}
	err = filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if strings.HasPrefix(d.Name(), tmpPrefix) && p != start {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(l.Root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, dir+base) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		out = append(out, Info{Key: key, Size: fi.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: list %s: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Open implements Objects.
func (l Local) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return f, nil
}

// Delete implements Objects. Folders left empty are removed up to the table's folder.
func (l Local) Delete(ctx context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: %w", err)
	}
	// Empty folders would otherwise pile up, one per deleted day; a folder that is not empty
	// (or is the root) stays.
	for dir := filepath.Dir(p); dir != l.Root && strings.HasPrefix(dir, l.Root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}
