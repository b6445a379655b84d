package query

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ArchivedClusters lists the clusters that have a partition in any table of the archive under
// root (<root>/<table>/cluster=<name>/…). A missing root holds none.
func ArchivedClusters(root string) ([]string, error) {
	tables, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("archived clusters: %w", err)
	}
	var out []string
	for _, t := range tables {
		if !t.IsDir() || strings.HasPrefix(t.Name(), ".") {
			continue
		}
		parts, err := os.ReadDir(filepath.Join(root, t.Name()))
		if err != nil {
			return nil, fmt.Errorf("archived clusters: %w", err)
		}
		for _, p := range parts {
			if name, ok := strings.CutPrefix(p.Name(), "cluster="); ok && p.IsDir() && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}
