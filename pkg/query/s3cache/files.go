package s3cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// fetch makes the file of key match the listed object, downloading it unless a download of the
// same key, by this query or another, brings it.
func (c *Cache) fetch(ctx context.Context, key string, want object) error {
	for {
		c.mu.Lock()
		if f := c.files[key]; f != nil && f.matches(want) {
			c.touchLocked(key, f, c.now())
			c.mu.Unlock()
			return nil
		}
		if fl := c.flights[key]; fl != nil {
			c.mu.Unlock()
			select {
			case <-fl.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			// The other download's failure is ours too, unless it was only its caller giving up.
			if fl.err != nil && !errors.Is(fl.err, context.Canceled) && !errors.Is(fl.err, context.DeadlineExceeded) {
				return fl.err
			}
			continue
		}
		fl := &flight{done: make(chan struct{})}
		c.flights[key] = fl
		c.mu.Unlock()

		// The object fetched may be newer than the listing (replaced in between): the file
		// then records what it holds, and the next Prepare compares with that.
		fl.err = c.download(ctx, key)
		c.mu.Lock()
		delete(c.flights, key)
		c.mu.Unlock()
		close(fl.done)
		return fl.err
	}
}

// download streams one object into a hidden temporary file next to its place, then renames it
// into place: the engine sees the old file or the new one, never a part.
func (c *Cache) download(ctx context.Context, key string) error {
	out, err := c.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.opts.Bucket), Key: aws.String(c.opts.Prefix + key)})
	if err != nil {
		return fmt.Errorf("download %s: %w", key, err)
	}
	defer out.Body.Close()
	dst := c.path(key)

	c.mu.Lock()
	tmp, err := createTemp(dst)
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("download %s: %w", key, err)
	}
	n, err := io.Copy(tmp, out.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && out.ContentLength != nil && n != *out.ContentLength {
		err = fmt.Errorf("got %d of %d bytes", n, *out.ContentLength)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("download %s: %w", key, err)
	}
	etag := aws.ToString(out.ETag)

	c.mu.Lock()
	defer c.mu.Unlock()
	// The old ETag file goes before the rename and the new one comes after it: a crash in
	// between leaves a file without ETag, which is fetched again, never a stale file that
	// passes for new.
	if err := os.Remove(etagPath(dst)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		os.Remove(tmp.Name())
		return fmt.Errorf("download %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("download %s: %w", key, err)
	}
	if old := c.files[key]; old != nil {
		c.total -= old.size
	}
	now := c.now()
	// Without its ETag file the download is still good now; it is only fetched again after a
	// restart.
	_ = writeETag(dst, etag, n)
	c.files[key] = &file{size: n, etag: etag, known: true, used: now, stamped: now}
	c.total += n
	return nil
}

// createTemp creates the hidden temporary file of dst in dst's folder. The caller holds the lock
// under which empty folders are removed.
func createTemp(dst string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, err
	}
	return os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp*")
}

// etagPath is the hidden file next to a cached object that holds the ETag and size it was
// fetched at.
func etagPath(p string) string {
	return filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".etag")
}

func writeETag(p, etag string, size int64) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".etag.tmp*")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(tmp, "%s\n%d\n", etag, size)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), etagPath(p))
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// readETag is the ETag recorded for a cached file of the given size; not ok when there is none or
// it was recorded for another size (a download cut short by a crash).
func readETag(p string, size int64) (etag string, ok bool) {
	b, err := os.ReadFile(etagPath(p))
	if err != nil {
		return "", false
	}
	etag, rest, ok := strings.Cut(string(b), "\n")
	if !ok {
		return "", false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
	if err != nil || n != size {
		return "", false
	}
	return etag, true
}

// load indexes the files in the folder. Temporary files of downloads cut short and ETag files
// without their object are removed; files that are not archive objects are left alone.
func (c *Cache) load() error {
	root := filepath.Clean(c.opts.Dir)
	var leftovers []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		name := d.Name()
		if strings.HasPrefix(name, ".") {
			if strings.Contains(name, ".tmp") {
				leftovers = append(leftovers, p)
			} else if data, ok := strings.CutSuffix(strings.TrimPrefix(name, "."), ".etag"); ok {
				if _, err := os.Stat(filepath.Join(filepath.Dir(p), data)); errors.Is(err, fs.ErrNotExist) {
					leftovers = append(leftovers, p)
				}
			}
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if name == tables.LayoutName {
			// The local copy of a layout record: what the engine follows until the next
			// Prepare reads the record again.
			if b, err := os.ReadFile(p); err == nil {
				if l, err := tables.ParseLayout(b); err == nil {
					c.layouts[key] = l
				}
			}
			return nil
		}
		if _, ok := parseKey(key); !ok || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		etag, known := readETag(p, info.Size())
		c.files[key] = &file{size: info.Size(), etag: etag, known: known, used: info.ModTime(), stamped: info.ModTime()}
		c.total += info.Size()
		return nil
	})
	if err != nil {
		return fmt.Errorf("index %s: %w", root, err)
	}
	for _, p := range leftovers {
		os.Remove(p)
	}
	return nil
}
