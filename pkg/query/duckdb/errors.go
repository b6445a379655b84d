package duckdb

import (
	"errors"
	"fmt"
	"time"
)

// Errors are sorted by whose fault they are, so that the datasource can tell a user "your query
// was refused" or "your query is wrong" apart from "the engine failed". Test with errors.Is.
var (
	// ErrRefused marks a statement the engine will not run: anything but one SELECT over the
	// archive views. The error is a *RefusedError that says what was refused.
	ErrRefused = errors.New("query refused")
	// ErrInvalid marks a query DuckDB rejected: syntax, unknown column, bad cast, division by zero.
	ErrInvalid = errors.New("invalid query")
	// ErrTimeout marks a query interrupted at the time limit.
	ErrTimeout = errors.New("query time limit exceeded")
)

// RefusedError says what in a statement the engine refused to run.
type RefusedError struct {
	Reason string
}

func (e *RefusedError) Error() string { return "refused: " + e.Reason }

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

func refused(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// timeoutError keeps both ErrTimeout and context.DeadlineExceeded reachable through errors.Is.
func timeoutError(limit time.Duration, cause error) error {
	return fmt.Errorf("%w (limit %s): %w", ErrTimeout, limit, cause)
}
