package duckdb

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"slices"

	"github.com/parquet-go/parquet-go"
)

// partSchemas maps the compacted parts of each table to the schema their footers declare. A
// part is written whole before a layout record names it and is never written again under its
// key (each compaction writes a new generation folder), so what was read once stays true for as
// long as a record names the part. Only the parts of a table's current view are kept.
type partSchemas struct {
	byTable map[string]map[string]string // table → part path → schema ID
}

// group splits the parts of a table by schema, in their order, and returns the paths whose
// footer could not be read apart. Groups come in the order of their first part.
func (s *partSchemas) group(table string, parts []string) (groups [][]string, unknown []string) {
	if s.byTable == nil {
		s.byTable = map[string]map[string]string{}
	}
	old := s.byTable[table]
	cur := make(map[string]string, len(parts))
	index := map[string]int{}
	for _, p := range parts {
		id, ok := old[p]
		if !ok {
			var err error
			if id, err = schemaID(p); err != nil {
				unknown = append(unknown, p)
				continue
			}
		}
		cur[p] = id
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

// schemaID identifies the schema of a Parquet file from its footer: its columns' names, order,
// physical and logical types and repetition. Equal IDs mean equal schemas.
func schemaID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	pf, err := parquet.OpenFile(f, fi.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(pf.Schema().String()))
	return hex.EncodeToString(sum[:16]), nil
}
