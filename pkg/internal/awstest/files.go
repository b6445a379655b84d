package awstest

import (
	"os"
	"path/filepath"
	"testing"
)

// Files returns the paths of every file the server keeps (objects, metadata, uploads in
// progress), for tests that scan what reached the disk.
func (s *S3Server) Files(t testing.TB) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(s.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
