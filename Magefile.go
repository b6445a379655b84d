//go:build mage

// Build targets. Run with mage (go install github.com/magefile/mage@v1.17.2) or without
// installing anything: go run mage.go <target>.
package main

import (
	"os"
	"path/filepath"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"
)

// Default builds the plugin into dist/: frontend, then backend.
var Default = Build

const executable = "gpx_stlarchive"

// Build builds the frontend and the backend into dist/.
func Build() {
	mg.SerialDeps(Frontend, Backend)
}

// Frontend builds the frontend into dist/ (npm run build; it also copies plugin.json).
func Frontend() error {
	if _, err := os.Stat("node_modules"); err != nil {
		if err := sh.RunV("npm", "ci", "--no-audit", "--no-fund"); err != nil {
			return err
		}
	}
	return sh.RunV("npm", "run", "build")
}

// Backend builds the plugin executable for linux/amd64. The embedded query engine (DuckDB)
// needs cgo; the binary is linked statically so that it also starts on Grafana's Alpine (musl)
// image. netgo and osusergo keep name resolution and user lookup in Go.
func Backend() error {
	env := map[string]string{"CGO_ENABLED": "1", "GOOS": "linux", "GOARCH": "amd64"}
	out := filepath.Join("dist", executable+"_linux_amd64")
	return sh.RunWithV(env, "go", "build", "-trimpath", "-tags", "netgo,osusergo",
		"-ldflags", "-s -w -linkmode external -extldflags -static",
		"-o", out, "./pkg")
}

// CLI builds the standalone exporter, bin/stlarchive.
func CLI() error {
	return sh.RunWithV(map[string]string{"CGO_ENABLED": "1"}, "go", "build", "-o", filepath.Join("bin", "stlarchive"), "./pkg/cmd/stlarchive")
}

// Test runs every test (see scripts/test.sh).
func Test() error {
	return sh.RunV("bash", "scripts/test.sh")
}
