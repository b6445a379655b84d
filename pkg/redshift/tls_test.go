//go:build unix

package redshift_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stlarchive/redshift-stl-archive/pkg/config"
	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
	"github.com/stlarchive/redshift-stl-archive/pkg/redshift"
)

// testCA is a throwaway certificate authority.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	PEM  string
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, PEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// issue signs a server certificate valid for the IP addresses and DNS names given.
func (ca *testCA) issue(t *testing.T, ips []net.IP, names []string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "stlarchive test server"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  ips,
		DNSNames:     names,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
}

// startTLSServer starts a PostgreSQL of its own with ssl=on and a certificate for 127.0.0.1
// signed by ca. It returns the URL of a database with getdate().
func startTLSServer(t *testing.T, ca *testCA) string {
	t.Helper()
	pgtest.Shared(t) // skips, or fails under CI, when PostgreSQL is missing
	srv, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	ctx := context.Background()
	url := srv.URL("postgres")
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	certPEM, keyPEM := ca.issue(t, []net.IP{net.IPv4(127, 0, 0, 1)}, nil)
	// PostgreSQL loads a key only when its owner is the server's user and no one else may read
	// it: write both files into the data directory, owned like it, mode 0600. As root the
	// chown hands them to the server's user; otherwise the tests run as that user already.
	var dataDir string
	if err := conn.QueryRow(ctx, "SHOW data_directory").Scan(&dataDir); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	owner, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		t.Fatal("no file owner on this platform")
	}
	for file, content := range map[string][]byte{"stlarchive-test.crt": certPEM, "stlarchive-test.key": keyPEM} {
		path := filepath.Join(dataDir, file)
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path, int(owner.Uid), int(owner.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	for _, stmt := range []string{
		"ALTER SYSTEM SET ssl_cert_file = 'stlarchive-test.crt'",
		"ALTER SYSTEM SET ssl_key_file = 'stlarchive-test.key'",
		"ALTER SYSTEM SET ssl = on",
		"SELECT pg_reload_conf()",
		`CREATE FUNCTION getdate() RETURNS timestamp LANGUAGE sql AS $$ SELECT date_trunc('second', now() AT TIME ZONE 'UTC') $$`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	// The reload is asynchronous, and a certificate the server cannot load only shows in its
	// log: wait until a TLS connection succeeds.
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := pgx.Connect(ctx, strings.Replace(url, "sslmode=disable", "sslmode=require", 1))
		if err == nil {
			c.Close(ctx)
			return url
		}
		if time.Now().After(deadline) {
			var log string
			_ = conn.QueryRow(ctx, "SELECT pg_read_file('server.log')").Scan(&log)
			t.Fatalf("no TLS after reload: %v; server log:\n%s", err, log[max(0, len(log)-3000):])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// usesTLS reports whether the session is encrypted, as the server sees it.
func usesTLS(t *testing.T, conn *redshift.Conn) bool {
	t.Helper()
	var ssl bool
	if err := conn.QueryRow(context.Background(), "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil {
		t.Fatal(err)
	}
	return ssl
}

func TestTLSModesAgainstPostgreSQL(t *testing.T) {
	ca := newCA(t, "stlarchive test CA")
	other := newCA(t, "another CA")
	tlsURL := startTLSServer(t, ca)
	plainURL := pgtest.Database(t, "plain")
	simDatabase(t, plainURL)

	cases := []struct {
		name   string
		url    string
		host   string // replaces the URL's host when set
		mode   string
		rootCA string
		// sslRootCert is written to a file named by the cluster's SSLRootCert.
		sslRootCert string
		wantTLS     bool
		wantErr     []string // parts of the error; nil means success
	}{
		{name: "verify-full with the CA", url: tlsURL, mode: "verify-full", rootCA: ca.PEM, wantTLS: true},
		{name: "default mode is verify-full", url: tlsURL, mode: "", rootCA: ca.PEM, wantTLS: true},
		{name: "verify-full with the cluster's sslRootCert file", url: tlsURL, mode: "verify-full", sslRootCert: ca.PEM, wantTLS: true},
		{name: "the root CA option wins over sslRootCert", url: tlsURL, mode: "verify-full", rootCA: other.PEM, sslRootCert: ca.PEM,
			wantErr: []string{"not signed by a trusted CA"}},
		{name: "verify-full with a wrong host name", url: tlsURL, host: "localhost", mode: "verify-full", rootCA: ca.PEM,
			wantErr: []string{"cluster tls: connect:", "not valid for host localhost", "sslmode verify-full"}},
		{name: "verify-full with the system roots", url: tlsURL, mode: "verify-full",
			wantErr: []string{"not signed by a trusted CA", "sslmode verify-full"}},
		{name: "verify-full with another CA", url: tlsURL, mode: "verify-full", rootCA: other.PEM,
			wantErr: []string{"not signed by a trusted CA"}},
		{name: "verify-ca ignores the host name", url: tlsURL, host: "localhost", mode: "verify-ca", rootCA: ca.PEM, wantTLS: true},
		{name: "verify-ca with the system roots", url: tlsURL, mode: "verify-ca",
			wantErr: []string{"not signed by a trusted CA", "sslmode verify-ca"}},
		{name: "require encrypts without verifying", url: tlsURL, host: "localhost", mode: "require", wantTLS: true},
		{name: "require with a root CA verifies the chain", url: tlsURL, mode: "require", rootCA: other.PEM,
			wantErr: []string{"not signed by a trusted CA"}},
		{name: "disable", url: tlsURL, mode: "disable", wantTLS: false},
		{name: "server without TLS refuses verify-full", url: plainURL, mode: "verify-full", rootCA: ca.PEM,
			wantErr: []string{"does not accept TLS (sslmode verify-full needs it)"}},
		{name: "server without TLS refuses require", url: plainURL, mode: "require",
			wantErr: []string{"does not accept TLS (sslmode require needs it)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := clusterOf(t, tc.url)
			c.Name, c.SSLMode = "tls", tc.mode
			if tc.host != "" {
				c.Host = tc.host
			}
			if tc.sslRootCert != "" {
				c.SSLRootCert = filepath.Join(t.TempDir(), "ca.pem")
				if err := os.WriteFile(c.SSLRootCert, []byte(tc.sslRootCert), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			conn, err := redshift.ConnectWith(ctx, c, "stlarchive", redshift.Options{RootCA: tc.rootCA})
			if tc.wantErr != nil {
				if err == nil {
					conn.Close(ctx)
					t.Fatal("connected; want an error")
				}
				t.Logf("error: %v", err)
				for _, part := range tc.wantErr {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("%q lacks %q", err, part)
					}
				}
				if strings.Contains(err.Error(), c.Password.Reveal()) {
					t.Errorf("error carries the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if got := usesTLS(t, conn); got != tc.wantTLS {
				t.Errorf("session encrypted = %v, want %v", got, tc.wantTLS)
			}
		})
	}
}

func TestTLSConfigPerMode(t *testing.T) {
	ca := newCA(t, "stlarchive test CA")
	cases := []struct {
		mode, host, rootCA string
		wantNil            bool
		wantServerName     string
		wantSkip           bool // Go's own verification off
		wantChainCheck     bool // the package's chain-only check on
		wantRoots          bool
	}{
		{mode: "verify-full", host: "c1.abc.us-east-1.redshift.amazonaws.com", wantServerName: "c1.abc.us-east-1.redshift.amazonaws.com"},
		{mode: "", host: "c1.example.com", wantServerName: "c1.example.com"},
		{mode: "verify-full", host: "10.0.0.7", rootCA: ca.PEM, wantServerName: "10.0.0.7", wantRoots: true},
		{mode: "verify-ca", host: "c1.example.com", rootCA: ca.PEM, wantServerName: "c1.example.com", wantSkip: true, wantChainCheck: true, wantRoots: true},
		{mode: "verify-ca", host: "10.0.0.7", wantSkip: true, wantChainCheck: true},
		{mode: "require", host: "c1.example.com", wantServerName: "c1.example.com", wantSkip: true},
		{mode: "require", host: "10.0.0.7", rootCA: ca.PEM, wantSkip: true, wantChainCheck: true, wantRoots: true},
		{mode: "disable", host: "c1.example.com", wantNil: true},
	}
	for _, tc := range cases {
		t.Run(tc.mode+" "+tc.host, func(t *testing.T) {
			c := config.Cluster{Name: "c1", Host: tc.host, Port: 5439, Database: "dev", User: "u", Password: "p", SSLMode: tc.mode}
			cfg, err := redshift.ConnConfigWith(c, redshift.Options{RootCA: tc.rootCA})
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Fallbacks) != 0 {
				t.Errorf("%d fallbacks; a fallback could connect without the TLS asked for", len(cfg.Fallbacks))
			}
			tc2 := cfg.TLSConfig
			if tc.wantNil {
				if tc2 != nil {
					t.Errorf("TLS config %+v, want none", tc2)
				}
				return
			}
			if tc2 == nil {
				t.Fatal("no TLS config")
			}
			if tc2.MinVersion != tls.VersionTLS12 || tc2.ServerName != tc.wantServerName || tc2.InsecureSkipVerify != tc.wantSkip ||
				(tc2.VerifyConnection != nil) != tc.wantChainCheck || (tc2.RootCAs != nil) != tc.wantRoots {
				t.Errorf("TLS config: min %x server name %q skip %v chain check %v roots %v",
					tc2.MinVersion, tc2.ServerName, tc2.InsecureSkipVerify, tc2.VerifyConnection != nil, tc2.RootCAs != nil)
			}
		})
	}
}

func TestConnConfigRejectsBadTLSSettings(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, "stlarchive test CA")
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, []byte(ca.PEM), 0o600); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, mode, rootCA string
		want               string // "" means accepted
	}{
		{"CA file", "verify-full", caFile, ""},
		{"missing CA file", "verify-full", filepath.Join(dir, "missing.pem"), "cluster c1: read root CA"},
		{"file without a certificate", "verify-full", junk, "cluster c1: root CA: no PEM certificate"},
		{"PEM without a certificate", "verify-full", "-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n", "no PEM certificate"},
		{"prefer is not offered", "prefer", "", `cluster c1: unknown sslmode "prefer"`},
		{"allow is not offered", "allow", "", `unknown sslmode "allow"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Cluster{Name: "c1", Host: "c1.example.com", Port: 5439, Database: "dev", User: "u", Password: "hunter2", SSLMode: tc.mode}
			cfg, err := redshift.ConnConfigWith(c, redshift.Options{RootCA: tc.rootCA})
			if tc.want == "" {
				if err != nil || cfg.TLSConfig == nil || cfg.TLSConfig.RootCAs == nil {
					t.Fatalf("err = %v, want a config with the CA", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error carries the password: %v", err)
			}
		})
	}
}
