package duckdb

import (
	"context"
	"fmt"
	"strings"
)

// setting is one DuckDB option of the lockdown and, when verify is set, the value
// duckdb_settings() must then show.
type setting struct {
	name, value string
	verify      bool
	want        string
}

// lockdownSettings are applied in this order, all with global scope (every connection of the
// database shares them). temp_directory goes first: DuckDB adds the temp directory to
// allowed_directories when external access is switched off, and an empty one also means a query
// that outgrows memory fails instead of spilling files. enable_external_access goes after
// allowed_directories, which it freezes; lock_configuration goes last and freezes everything.
func lockdownSettings(root string, opts Options) []setting {
	s := []setting{
		{"temp_directory", "''", true, ""},
		{"allowed_directories", "[" + quoteString(root+"/") + "]", true, "[" + root + "/]"},
		{"allow_persistent_secrets", "false", true, "false"},
		{"autoinstall_known_extensions", "false", true, "false"},
		{"autoload_known_extensions", "false", true, "false"},
		{"allow_community_extensions", "false", true, "false"},
		{"allow_unsigned_extensions", "false", true, "false"},
		{"parquet_metadata_cache", "true", true, "true"},
		// DuckDB reports the limit in its own units; an invalid one already fails the SET.
		{"memory_limit", quoteString(opts.MemoryLimit), false, ""},
	}
	if opts.Threads > 0 {
		s = append(s, setting{"threads", fmt.Sprint(opts.Threads), true, fmt.Sprint(opts.Threads)})
	}
	return append(s,
		setting{"enable_external_access", "false", true, "false"},
		setting{"lock_configuration", "true", true, "true"},
	)
}

// lockDown applies the settings, then reads them back: a setting DuckDB ignored or renamed must
// fail Open rather than leave the engine open.
func (e *Engine) lockDown(ctx context.Context, root string) error {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("lock down: %w", err)
	}
	defer conn.Close()
	settings := lockdownSettings(root, e.opts)
	for _, s := range settings {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET GLOBAL %s = %s", s.name, s.value)); err != nil {
			return fmt.Errorf("lock down: set %s: %w", s.name, err)
		}
	}
	for _, s := range settings {
		if !s.verify {
			continue
		}
		var got string
		if err := conn.QueryRowContext(ctx, "SELECT value FROM duckdb_settings() WHERE name = $1", s.name).Scan(&got); err != nil {
			return fmt.Errorf("lock down: read %s: %w", s.name, err)
		}
		if !strings.EqualFold(got, s.want) {
			return fmt.Errorf("lock down: %s is %q, want %q", s.name, got, s.want)
		}
	}
	return nil
}
