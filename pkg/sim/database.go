package sim

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/redshift"
)

// WithConn runs fn on a connection to the database of simulated cluster c, opened with the
// cluster's own settings (TLS, credentials) and closed afterwards.
func WithConn(ctx context.Context, c config.Cluster, fn func(*pgx.Conn) error) error {
	cc, err := redshift.ConnConfig(c)
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return fmt.Errorf("cluster %s: connect: %w", c.Name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return fn(conn)
}

// CreateDatabase creates the database of simulated cluster c on its PostgreSQL server when it is
// missing.
func CreateDatabase(ctx context.Context, c config.Cluster) error {
	admin := c
	admin.Database = "postgres"
	var err error
	withErr := WithConn(ctx, admin, func(conn *pgx.Conn) error {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{c.Database}.Sanitize())
		return nil
	})
	if withErr != nil {
		return withErr
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
		return nil
	}
	if err != nil {
		return fmt.Errorf("cluster %s: create database: %w", c.Name, err)
	}
	return nil
}
