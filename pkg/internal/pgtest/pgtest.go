// Package pgtest runs a throwaway PostgreSQL for tests through the project's own script
// (scripts/postgres.sh) and hands out one fresh database per caller. PostgreSQL stands in for
// Redshift: the simulator creates STL-shaped tables in it.
//
// When PostgreSQL is not installed the tests skip with a message, except under CI=true, where a
// missing server is a failure.
package pgtest

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
)

// User and Password are the credentials the server accepts over TCP (scripts/postgres.sh).
const (
	User     = "postgres"
	Password = "postgres"
)

// Server is a running PostgreSQL on loopback.
type Server struct {
	Host string
	Port int
	dir  string
	root string
}

var dbSeq atomic.Int64

// RepoRoot finds the repository root (the folder of go.mod) from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("pgtest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts a new server. Stop it with Stop.
func Start() (*Server, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "stlarchive-pg-")
	if err != nil {
		return nil, err
	}
	// The server runs as user postgres when the tests run as root; it must reach its folder.
	if err := os.Chmod(tmp, 0o711); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Host: "127.0.0.1", Port: port, dir: filepath.Join(tmp, "data"), root: root}
	out, err := exec.Command(filepath.Join(root, "scripts", "postgres.sh"), "start", s.dir, fmt.Sprint(port)).CombinedOutput()
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("pgtest: start postgres: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return s, nil
}

// Stop stops the server and removes its files.
func (s *Server) Stop() {
	exec.Command(filepath.Join(s.root, "scripts", "postgres.sh"), "stop", s.dir).Run()
	os.RemoveAll(filepath.Dir(s.dir))
}

// URL is the connection string of a database on the server.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", User, Password, s.Host, s.Port, db)
}

// CreateDatabase creates a new empty database and returns its name.
func (s *Server) CreateDatabase(ctx context.Context, prefix string) (string, error) {
	name := fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), dbSeq.Add(1))
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	return name, nil
}

// Installed reports whether PostgreSQL's server binaries are on this machine.
func Installed() bool {
	if _, err := exec.LookPath("pg_ctl"); err == nil {
		return true
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	return len(m) > 0
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
)

// Shared returns the package's one server, started on first use; Main stops it. Without
// PostgreSQL it skips the test, or fails it under CI=true.
func Shared(t testing.TB) *Server {
	t.Helper()
	if !Installed() {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL is not installed; CI must install it (scripts/postgres.sh install)")
		}
		t.Skip("PostgreSQL is not installed: run scripts/postgres.sh install")
	}
	sharedOnce.Do(func() { shared, sharedErr = Start() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// Database creates a fresh database on the shared server and returns its URL.
func Database(t testing.TB, prefix string) string {
	t.Helper()
	s := Shared(t)
	name, err := s.CreateDatabase(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	return s.URL(name)
}

var (
	atExitMu sync.Mutex
	atExit   []func()
)

// FullRun tells whether every test of the package runs (no -run filter): work that only pays
// off for the whole package, such as building a binary in the background, is worth starting
// then. Call it from TestMain.
func FullRun() bool {
	if !flag.Parsed() {
		flag.Parse()
	}
	f := flag.Lookup("test.run")
	return f == nil || f.Value.String() == ""
}

// AtExit registers work for Main to do after the tests, such as removing a built binary.
func AtExit(fn func()) {
	atExitMu.Lock()
	defer atExitMu.Unlock()
	atExit = append(atExit, fn)
}

// Main runs the tests of a package and stops the shared server afterwards. Use it as
// func TestMain(m *testing.M) { pgtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	atExitMu.Lock()
	for _, fn := range atExit {
		fn()
	}
	atExitMu.Unlock()
	os.Exit(code)
}
