package duckdb

import (
	"os"
	"slices"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/stlarchive/redshift-stl-archive/pkg/export/parquetfile"
)

// partSchemas maps the objects a view names one by one whose record gives no schema (parts
// compacted before records kept it, windows of a partial day) to the schema their footers
// declare, read once per object: an entry holds while the file keeps its size and modification
// time. Only the objects of a table's current view are kept.
type partSchemas struct {
	byTable map[string]map[string]fileSchema // table → path → schema
}

type fileSchema struct {
	size    int64
	modTime time.Time
	id      string
}

// group splits the parts of a table by schema, in their order, and returns the paths whose
// footer could not be read apart. A part's schema is the ID known maps it to (from its layout
// record), else what its footer declares. Groups come in the order of their first part.
func (s *partSchemas) group(table string, parts []string, known map[string]string) (groups [][]string, unknown []string) {
	if s.byTable == nil {
		s.byTable = map[string]map[string]fileSchema{}
	}
	old := s.byTable[table]
	cur := make(map[string]fileSchema, len(parts))
	index := map[string]int{}
	for _, p := range parts {
		id := known[p]
		if id == "" {
			fs, err := schemaOf(p, old[p])
			if err != nil {
				unknown = append(unknown, p)
				continue
			}
			cur[p] = fs
			id = fs.id
		}
		i, seen := index[id]
		if !seen {
			i = len(groups)
			index[id] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], p)
	}
	s.byTable[table] = cur
	return groups, slices.Clip(unknown)
}

// schemaOf identifies the schema of a Parquet file from its footer: its columns' names, order,
// physical and logical types and repetition. Equal IDs mean equal schemas. known is what was read
// before, kept if the file has not changed since.
func schemaOf(path string, known fileSchema) (fileSchema, error) {
	f, err := os.Open(path)
	if err != nil {
		return fileSchema{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fileSchema{}, err
	}
	if known.id != "" && known.size == fi.Size() && known.modTime.Equal(fi.ModTime()) {
		return known, nil
	}
	pf, err := parquet.OpenFile(f, fi.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fileSchema{}, err
	}
	return fileSchema{size: fi.Size(), modTime: fi.ModTime(), id: parquetfile.SchemaID(pf.Schema())}, nil
}
