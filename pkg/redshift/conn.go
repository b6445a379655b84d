// Package redshift opens connections to Redshift clusters (or PostgreSQL standing in for one)
// the way the exporter and the health check need them: TLS by default (verify-full against the
// system roots or a given CA), a password or temporary IAM credentials from
// redshift:GetClusterCredentials, the exporter's queries tagged with a query group, the source's
// clock, and what the user is allowed to see in STL. It owns secrets on their way to the server
// and keeps them out of every error.
package redshift

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/export/source"
)

// Conn is one connection to a cluster.
type Conn struct {
	*pgx.Conn
	// Redshift is true on Amazon Redshift, false on PostgreSQL.
	Redshift bool
	cluster  string
	secret   string
	skew     time.Duration
	queries  atomic.Int64
}

// Options are what a connection needs beyond the cluster's settings.
type Options struct {
	// Auth supplies user and password at each connect, e.g. an *IAMCredentials shared by every
	// connect to the cluster. Nil uses the cluster's User and Password.
	Auth Auth
	// RootCA is the CA that verifies the server certificate in place of the system roots (a
	// private CA; Redshift's own chains to public roots): PEM text, or the path of a PEM file.
	// Empty takes the cluster's SSLRootCert.
	RootCA string
}

// OptionsFor returns the options a cluster's configuration asks for: for auth "iam" and
// "iam-identity", temporary credentials from api for the cluster's identifier, restricted to its
// database. Make them once per cluster and keep them: the credentials are cached inside.
func OptionsFor(c config.Cluster, api CredentialsAPI) (Options, error) {
	iam := IAMAuth{ClusterID: c.Identifier(), DBName: c.Database}
	switch c.Auth {
	case config.AuthPassword, "":
		return Options{}, nil
	case config.AuthIAM:
		iam.DBUser, iam.DBGroups, iam.AutoCreate = c.User, c.DBGroups, c.AutoCreate
	case config.AuthIAMIdentity:
		iam.WithIAMIdentity = true
	default:
		return Options{}, fmt.Errorf("cluster %s: unknown auth %q", c.Name, c.Auth)
	}
	if api == nil {
		return Options{}, fmt.Errorf("cluster %s: auth %s needs a Redshift API client for %s", c.Name, c.Auth, iam.action())
	}
	return Options{Auth: &IAMCredentials{API: api, Auth: iam}}, nil
}

// Connect opens a connection to cluster with its user and password and tags the session with
// queryGroup.
func Connect(ctx context.Context, c config.Cluster, queryGroup string) (*Conn, error) {
	return ConnectWith(ctx, c, queryGroup, Options{})
}

// ConnectWith opens a connection to cluster and tags the session with queryGroup.
//
// On Redshift the tag is SET query_group, which STL records in the label column of every query
// the session runs, so the export can leave its own queries out. PostgreSQL has no such setting;
// there the tag is the application name.
func ConnectWith(ctx context.Context, c config.Cluster, queryGroup string, o Options) (*Conn, error) {
	conn := &Conn{cluster: c.Name, secret: c.Password.Reveal()}
	cfg, err := ConnConfigWith(c, o)
	if err != nil {
		return nil, err
	}
	if o.Auth != nil {
		user, password, err := o.Auth.Credentials(ctx)
		if err != nil {
			return nil, conn.wrap("credentials", err)
		}
		cfg.User, cfg.Password = user, password
		conn.secret = password
	}
	cfg.RuntimeParams["application_name"] = queryGroup
	source.BufferReads(cfg, 0)
	start := time.Now()
	pc, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		if inv, ok := o.Auth.(interface{ Invalidate() }); ok && authFailed(err) {
			// Temporary credentials can be refused before their expiration (a user dropped
			// and recreated): fetch new ones on the next connect rather than retrying them.
			inv.Invalidate()
		}
		if hint := tlsHint(err, sslMode(c), c.Host); hint != "" {
			err = fmt.Errorf("%s: %w", hint, err)
		}
		return nil, conn.wrap("connect", err)
	}
	conn.Conn = pc
	// Redshift reports itself in version(); its leader node speaks PostgreSQL 8.0.2.
	var version string
	var now time.Time
	if err := pc.QueryRow(ctx, "SELECT version(), getdate()").Scan(&version, &now); err != nil {
		pc.Close(ctx)
		return nil, conn.wrap("read version and clock", err)
	}
	conn.Redshift = strings.Contains(version, "Redshift")
	// The source's clock decides the windows: estimate its offset from ours at the midpoint of
	// the round trip, once per connection.
	mid := start.Add(time.Since(start) / 2)
	conn.skew = now.Sub(mid)
	if conn.Redshift {
		if _, err := pc.Exec(ctx, "SET query_group TO "+quoteLiteral(queryGroup)); err != nil {
			pc.Close(ctx)
			return nil, conn.wrap("set query_group", err)
		}
	} else if _, err := pc.Exec(ctx, "SET jit = off"); err != nil {
		// PostgreSQL standing in for Redshift JIT-compiles the verification pass's bucketing
		// expression in every parallel worker: a minute instead of half a second per statement.
		pc.Close(ctx)
		return nil, conn.wrap("set jit", err)
	}
	return conn, nil
}

// ConnConfig builds the pgx configuration of a cluster with its user and password, and its
// SSLRootCert or else the system roots.
func ConnConfig(c config.Cluster) (*pgx.ConnConfig, error) {
	return ConnConfigWith(c, Options{})
}

// ConnConfigWith builds the pgx configuration of a cluster. SSL modes are libpq's (see
// SSLVerifyFull and the others); o.RootCA or else c.SSLRootCert replaces the system roots.
// o.Auth is not called: the user and password are the cluster's, for ConnectWith to replace.
func ConnConfigWith(c config.Cluster, o Options) (*pgx.ConnConfig, error) {
	// Credentials and TLS are set on the parsed configuration, not in the URL: a parse error
	// cannot quote the password, and pgx's own sslmode handling (with its PG* environment
	// variables) stays out of the checks.
	u := url.URL{
		Scheme:   "postgres",
		Host:     net.JoinHostPort(c.Host, strconv.Itoa(c.Port)),
		Path:     "/" + c.Database,
		RawQuery: url.Values{"sslmode": {"disable"}, "connect_timeout": {"10"}}.Encode(),
	}
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("cluster %s: invalid connection settings: %w", c.Name, err)
	}
	cfg.User = c.User
	cfg.Password = c.Password.Reveal()
	rootCA := o.RootCA
	if rootCA == "" {
		rootCA = c.SSLRootCert
	}
	roots, err := rootCAs(rootCA)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	if cfg.TLSConfig, err = tlsConfig(sslMode(c), c.Host, roots); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	cfg.Fallbacks = nil
	return cfg, nil
}

// authFailed reports whether the server refused the login: invalid_password or
// invalid_authorization_specification.
func authFailed(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000")
}

func sslMode(c config.Cluster) string {
	if c.SSLMode == "" {
		return SSLVerifyFull
	}
	return c.SSLMode
}

// Now is the source's current time, in UTC, as a Redshift timestamp without time zone holds it.
func (c *Conn) Now() time.Time {
	return time.Now().UTC().Add(c.skew).Truncate(time.Microsecond)
}

// Cluster is the name of the cluster.
func (c *Conn) Cluster() string { return c.cluster }

// CountQuery records that the caller sent one statement; Queries reports the count. They let
// callers prove how much they ask of a cluster.
func (c *Conn) CountQuery() { c.queries.Add(1) }

// Queries is the number of statements counted with CountQuery.
func (c *Conn) Queries() int64 { return c.queries.Load() }

// Wrap turns an error of an operation on this connection into one that names the cluster and
// never carries the password.
func (c *Conn) Wrap(op string, err error) error { return c.wrap(op, err) }

func (c *Conn) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Cluster: c.cluster, Op: op, Err: err, secret: c.secret}
}

// Error is a failure on a cluster. Its message names the cluster and redacts the password.
type Error struct {
	Cluster string
	Op      string
	Err     error
	secret  string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("cluster %s: %s: %v", e.Cluster, e.Op, e.Err)
	if e.secret != "" {
		msg = strings.ReplaceAll(msg, e.secret, "***")
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Visibility says which STL rows the connected user can see.
type Visibility struct {
	User      string `json:"user"`
	Superuser bool   `json:"superuser"`
	// Unrestricted is true when the user sees every user's STL rows: a superuser, or
	// ALTER USER … SYSLOG ACCESS UNRESTRICTED.
	Unrestricted bool `json:"unrestricted"`
}

// Visibility reads what the user may see. Regular users see only their own rows in STL views,
// which would silently archive a fraction of the history.
func (c *Conn) Visibility(ctx context.Context) (Visibility, error) {
	var v Visibility
	var access string
	err := c.QueryRow(ctx, "SELECT usename::text, usesuper, COALESCE(syslog_access::text, '') FROM svl_user_info WHERE usename = current_user").
		Scan(&v.User, &v.Superuser, &access)
	if err != nil {
		return v, c.wrap("read user visibility", err)
	}
	v.User = strings.TrimSpace(v.User)
	v.Unrestricted = v.Superuser || strings.EqualFold(strings.TrimSpace(access), "UNRESTRICTED")
	return v, nil
}
