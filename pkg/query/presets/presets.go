// Package presets owns the diagnostics of the datasource as data: the embedded presets.yaml and
// the operator's own presets from configuration, each with its SQL per engine dialect and the
// role of each output column. It neither expands macros nor runs anything.
package presets

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
)

//go:embed presets.yaml
var builtin []byte

// Formats of a preset's result.
const (
	TimeSeries  = "time_series"
	Table       = "table"
	Annotations = "annotations"
	Variable    = "variable"
)

// Sources of a preset's rows.
const (
	// SourceSQL presets run their SQL on the engine (the default).
	SourceSQL = "sql"
	// SourceStatus presets read the export state store, not the archive.
	SourceStatus = "status"
)

// Column roles.
const (
	RoleTime    = "time"
	RoleTimeEnd = "timeEnd"
	RoleValue   = "value"
	RoleLabel   = "label"
	RoleText    = "text"
	RoleTags    = "tags"
	RoleColumn  = "column"
)

// Preset is one diagnostic.
type Preset struct {
	ID          string            `yaml:"id" json:"id"`
	Title       string            `yaml:"title" json:"title"`
	Description string            `yaml:"description" json:"description"`
	Format      string            `yaml:"format" json:"format"`
	Source      string            `yaml:"source" json:"source,omitempty"`
	SQL         map[string]string `yaml:"sql" json:"-"`
	Columns     []Column          `yaml:"columns" json:"columns"`
	// Custom marks the operator's own presets.
	Custom bool `yaml:"-" json:"custom,omitempty"`
}

// Column is one output column and its role.
type Column struct {
	Name string `yaml:"name" json:"name"`
	Role string `yaml:"role" json:"role"`
}

// Role returns the role of the named column, or "" when the preset does not name it.
func (p Preset) Role(column string) string {
	for _, c := range p.Columns {
		if c.Name == column {
			return c.Role
		}
	}
	return ""
}

// FromStatus reports whether the preset reads the export state rather than the archive.
func (p Preset) FromStatus() bool { return p.Source == SourceStatus }

// Query returns the preset's SQL for dialect.
func (p Preset) Query(dialect string) (string, error) {
	q, ok := p.SQL[dialect]
	if !ok || strings.TrimSpace(q) == "" {
		return "", fmt.Errorf("preset %s has no SQL for the %s engine", p.ID, dialect)
	}
	return q, nil
}

// Catalog is the set of presets one datasource offers, in a stable order: built-in first.
type Catalog struct {
	list []Preset
	byID map[string]int
}

// Builtin returns the embedded presets.
func Builtin() (*Catalog, error) { return New(nil) }

// New returns the built-in presets plus the operator's. An operator's preset may not take the id
// of a built-in one: dashboards and alert rules rely on those meaning what they say.
func New(custom []config.Preset) (*Catalog, error) {
	var doc struct {
		Presets []Preset `yaml:"presets"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(builtin)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("presets: embedded presets.yaml: %w", err)
	}
	c := &Catalog{byID: map[string]int{}}
	for _, p := range doc.Presets {
		if err := c.add(p); err != nil {
			return nil, fmt.Errorf("presets: embedded presets.yaml: %w", err)
		}
	}
	for i, cp := range custom {
		p := Preset{ID: cp.ID, Title: cp.Title, Description: cp.Description, Format: cp.Format,
			SQL: cp.SQL, Custom: true}
		for _, col := range cp.Columns {
			p.Columns = append(p.Columns, Column{Name: col.Name, Role: col.Role})
		}
		if err := c.add(p); err != nil {
			return nil, fmt.Errorf("presets: jsonData.presets[%d]: %w", i, err)
		}
	}
	return c, nil
}

func (c *Catalog) add(p Preset) error {
	if p.Source == "" {
		p.Source = SourceSQL
	}
	if err := check(p); err != nil {
		return err
	}
	if _, dup := c.byID[p.ID]; dup {
		return fmt.Errorf("preset %q is already defined (built-in ids cannot be reused)", p.ID)
	}
	c.byID[p.ID] = len(c.list)
	c.list = append(c.list, p)
	return nil
}

func check(p Preset) error {
	switch {
	case p.ID == "":
		return fmt.Errorf("a preset has no id")
	case !slices.Contains(config.PresetFormats, p.Format):
		return fmt.Errorf("preset %s: format %q is not one of %s", p.ID, p.Format, strings.Join(config.PresetFormats, ", "))
	case p.Source != SourceSQL && p.Source != SourceStatus:
		return fmt.Errorf("preset %s: source %q is not sql or status", p.ID, p.Source)
	case p.Source == SourceSQL && len(p.SQL) == 0:
		return fmt.Errorf("preset %s: no SQL", p.ID)
	}
	for d := range p.SQL {
		if !slices.Contains(config.PresetDialects, d) {
			return fmt.Errorf("preset %s: unknown dialect %q", p.ID, d)
		}
	}
	for _, col := range p.Columns {
		if !slices.Contains(config.PresetRoles, col.Role) {
			return fmt.Errorf("preset %s: column %s: role %q is not one of %s", p.ID, col.Name, col.Role, strings.Join(config.PresetRoles, ", "))
		}
	}
	return nil
}

// Lookup returns the preset with that id.
func (c *Catalog) Lookup(id string) (Preset, bool) {
	i, ok := c.byID[id]
	if !ok {
		return Preset{}, false
	}
	return c.list[i], true
}

// All returns every preset, built-in first, in file order.
func (c *Catalog) All() []Preset { return slices.Clone(c.list) }

// IDs returns the ids of every preset, for error messages.
func (c *Catalog) IDs() []string {
	ids := make([]string, len(c.list))
	for i, p := range c.list {
		ids[i] = p.ID
	}
	return ids
}
