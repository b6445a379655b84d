package ssmconfig_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/awsfake"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/redshift"
	"github.com/stlarchive/redshift-stl-archive/pkg/ssmconfig"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestSettingsFromSSMConnect reads two clusters as a 2018 deployment stores them — one with an
// endpoint parameter, one found by DescribeClusters — and logs in to both on PostgreSQL.
func TestSettingsFromSSMConnect(t *testing.T) {
	ctx := context.Background()
	var dbs []*pgx.ConnConfig
	for _, prefix := range []string{"ssm_a", "ssm_b"} {
		url := pgtest.Database(t, prefix)
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = conn.Exec(ctx, `CREATE FUNCTION getdate() RETURNS timestamp LANGUAGE sql AS $$ SELECT localtimestamp $$`)
		conn.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, cfg)
	}
	f := newFixture(t, "with-endpoint", "described")
	for _, c := range []string{"with-endpoint", "described"} {
		f.ssm.Put(p+"."+c+".user", awsfake.String, dbs[0].User)
		f.ssm.Put(p+"."+c+".password", awsfake.SecureString, dbs[0].Password)
	}
	a, b := dbs[0], dbs[1]
	f.ssm.Put(p+".with-endpoint.endpoint", awsfake.String, a.Host+":"+strconv.Itoa(int(a.Port))+"/"+a.Database)
	f.rs.AddCluster(awsfake.RedshiftCluster{Identifier: "described", Address: b.Host, Port: int(b.Port), DBName: b.Database})

	// The local server has no TLS; a real deployment keeps the default verify-full.
	st := f.load(t, ssmconfig.Options{Defaults: config.Cluster{SSLMode: "disable"}})
	if len(st.Clusters) != 2 || len(st.Problems) != 0 {
		t.Fatalf("clusters %v, problems %v", reveal(st.Clusters), st.Problems)
	}
	for i, c := range st.Clusters {
		conn, err := redshift.Connect(ctx, c, "stlarchive")
		if err != nil {
			t.Fatal(err)
		}
		var db string
		err = conn.QueryRow(ctx, "SELECT current_database()").Scan(&db)
		conn.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if db != dbs[i].Database {
			t.Errorf("%s connected to %s, want %s", c.Name, db, dbs[i].Database)
		}
	}
}
