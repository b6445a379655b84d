package sim

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stlarchive/redshift-stl-archive/pkg/tables"
)

// infoSchemaType is how information_schema must describe a catalog type, worked out here
// independently of the mapping Create uses.
func infoSchemaType(t *testing.T, redshift string) (string, int) {
	switch redshift {
	case "integer", "bigint":
		return redshift, 0
	case "timestamp":
		return "timestamp without time zone", 0
	}
	m := regexp.MustCompile(`^(character|char)\((\d+)\)$`).FindStringSubmatch(redshift)
	if m == nil {
		t.Fatalf("catalog type %q unknown to the test", redshift)
	}
	n, _ := strconv.Atoi(m[2])
	return "character", n
}

func TestCreatedColumnsEqualTheCatalog(t *testing.T) {
	conn := cluster(t)
	ctx := context.Background()
	// A second Create must find everything in place.
	if err := Create(ctx, conn); err != nil {
		t.Fatalf("second Create: %v", err)
	}
	for _, tb := range tables.STL() {
		t.Run(tb.Name, func(t *testing.T) {
			rows, err := conn.Query(ctx, `SELECT column_name, data_type, coalesce(character_maximum_length, 0)
				FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, tb.Name)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				var name, typ string
				var n int
				if err := rows.Scan(&name, &typ, &n); err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprintf("%s %s %d", name, typ, n))
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, c := range tb.Columns {
				typ, n := infoSchemaType(t, c.Type)
				want = append(want, fmt.Sprintf("%s %s %d", c.Name, typ, n))
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("columns\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestCreateIndexesTimeColumnsAndQuery(t *testing.T) {
	conn := cluster(t)
	ctx := context.Background()
	for _, tb := range tables.STL() {
		var want []string
		if tb.TimeColumn != "" {
			want = append(want, tb.TimeColumn)
		}
		for _, c := range tb.Columns {
			if c.Name == "query" {
				want = append(want, "query")
			}
		}
		for _, col := range want {
			var n int
			err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_index i
				JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
				WHERE i.indrelid = $1::regclass AND a.attname = $2`, tb.Name, col).Scan(&n)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Errorf("%s has no index led by %s", tb.Name, col)
			}
		}
	}
}

func TestCreateRefusesATableOfAnotherShape(t *testing.T) {
	conn := cluster(t)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "DROP TABLE stl_explain; CREATE TABLE stl_explain (query integer, plannode varchar(400))"); err != nil {
		t.Fatal(err)
	}
	if err := Create(ctx, conn); err == nil {
		t.Fatal("Create accepted an stl_explain with other columns")
	}
}

func TestGetdateIsUTCWithoutFractions(t *testing.T) {
	conn := cluster(t)
	var now time.Time
	if err := conn.QueryRow(context.Background(), "SELECT getdate()").Scan(&now); err != nil {
		t.Fatal(err)
	}
	if now.Nanosecond() != 0 {
		t.Errorf("getdate() = %v has fractions of a second", now)
	}
	// Generous bound: the point is the time zone (hours), not the clock's precision.
	if d := time.Since(now); d < -time.Minute || d > time.Minute {
		t.Errorf("getdate() = %v is %v away from UTC now", now, d)
	}
}

func TestSvlUserInfoTellsSyslogAccess(t *testing.T) {
	conn := cluster(t)
	ctx := context.Background()
	role := fmt.Sprintf("sim_reader_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE ROLE "+role+" LOGIN"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Exec(context.Background(), "DROP ROLE "+role) })
	tests := []struct {
		user string
		want string
	}{
		{"postgres", "UNRESTRICTED"},
		{role, "RESTRICTED"},
	}
	for _, tt := range tests {
		var got string
		var super bool
		var id int32
		if err := conn.QueryRow(ctx, "SELECT syslog_access, usesuper, usesysid FROM svl_user_info WHERE usename = $1", tt.user).Scan(&got, &super, &id); err != nil {
			t.Fatalf("%s: %v", tt.user, err)
		}
		if got != tt.want {
			t.Errorf("%s: syslog_access %q, want %q", tt.user, got, tt.want)
		}
		if id <= 0 {
			t.Errorf("%s: usesysid %d", tt.user, id)
		}
	}
}
