package app_test

import (
	"testing"

	"github.com/stlarchive/redshift-stl-archive/pkg/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
