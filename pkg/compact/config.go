package compact

import (
	"fmt"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/state"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/storage"
	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// FromConfig makes the compactor a configuration describes over the exporter's state and
// archive. A nil gate is GateOf(cfg, store): the VerifiedGate when verification is enabled,
// else the WatermarkGate over store with the export lag.
func FromConfig(cfg config.Config, store state.Store, archive storage.Archive, gate DayGate, opts Options) (*Compactor, error) {
	a, ok := archive.(Archive)
	if !ok {
		return nil, fmt.Errorf("compact: %s cannot list or delete objects", archive)
	}
	if gate == nil {
		gate = GateOf(cfg, store)
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = cfg.Compaction.MaxObjectBytes()
	}
	if opts.Grace == 0 {
		opts.Grace = cfg.Compaction.GraceOrDefault()
	}
	if opts.OpenDayMinWindows == 0 {
		opts.OpenDayMinWindows = cfg.Compaction.OpenDayMinWindowsOrDefault()
	}
	return New(a, gate, opts), nil
}

// TablesOf lists the tables a configuration archives from a cluster: the STL tables, then the
// custom queries that run on it.
func TablesOf(cfg config.Config, cluster string) ([]tables.Table, error) {
	out, err := cfg.Export.STLTables()
	if err != nil {
		return nil, err
	}
	for _, q := range cfg.CustomQueries {
		if q.RunsOn(cluster) {
			out = append(out, q.Table())
		}
	}
	return out, nil
}
