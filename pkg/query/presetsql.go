package query

import (
	"time"
)

// PresetSQL is the SQL a diagnostics preset runs on the service's engine: as written, with its
// macros (what a user turns into a SQL query of their own), and expanded for one time range and
// cluster selection (what the engine receives).
type PresetSQL struct {
	Preset   string `json:"preset"`
	Dialect  string `json:"dialect"`
	Format   string `json:"format"`
	SQL      string `json:"sql"`
	Expanded string `json:"expanded"`
}

// PresetSQL returns the SQL of preset id in the service's dialect, and its expansion for the
// range [from, to], the interval (zero picks one) and clusters (nil, "All" or an unsubstituted
// variable: every cluster). A preset that reads the export state has no SQL.
func (s *Service) PresetSQL(id string, from, to time.Time, interval time.Duration, clusters []string) (PresetSQL, error) {
	p, ok := s.Presets.Lookup(id)
	if !ok {
		return PresetSQL{}, badQuery("no preset %q", id)
	}
	if p.FromStatus() {
		return PresetSQL{}, badQuery("preset %s reads the export state, not the archive: it has no SQL", id)
	}
	text, err := p.Query(string(s.dialect()))
	if err != nil {
		return PresetSQL{}, badQuery("%v", err)
	}
	names, err := normalizeClusters(clusters)
	if err != nil {
		return PresetSQL{}, err
	}
	expanded, err := s.Expand(text, from, to, interval, names)
	if err != nil {
		return PresetSQL{}, err
	}
	return PresetSQL{Preset: p.ID, Dialect: string(s.dialect()), Format: p.Format, SQL: text, Expanded: expanded}, nil
}
