package duckdb

import (
	"errors"
	"fmt"
	"strings"
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

// ErrMemory marks a query that needed more memory than the engine's limit.
var ErrMemory = errors.New("query memory limit exceeded")

// memoryError keeps ErrMemory reachable through errors.Is and says which limit applied.
func memoryError(limit string, msg string) error {
	return fmt.Errorf("%w (limit %s): %s", ErrMemory, limit, msg)
}

// scrubbedError is an error whose message had the archive's path (or other text a user must
// not see) replaced; errors.Is and errors.As still reach the original.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// archivePlaceholder stands for the archive root in messages.
const archivePlaceholder = "<archive>"

// Scrub replaces every mention of root (the archive's absolute path) in err's message by
// "<archive>", and drops the lines of a DuckDB statement excerpt that show the engine's row-limit
// wrapper rather than the user's query. The result matches the same errors as err.
func Scrub(err error, root string) error {
	if err == nil {
		return nil
	}
	msg := scrubText(err.Error(), root)
	if msg == err.Error() {
		return err
	}
	return &scrubbedError{msg: msg, err: err}
}

func scrubText(msg, root string) string {
	if root != "" && root != "/" {
		msg = strings.ReplaceAll(msg, root, archivePlaceholder)
	}
	if !strings.Contains(msg, wrapperAlias) && !strings.Contains(msg, "LINE 1: "+wrapperHead) {
		return msg
	}
	// DuckDB appends "LINE n: <statement text>" and a caret line. The user's query starts on the
	// wrapper's first line, right after its head: cut the head and move the caret with it; a
	// line showing the wrapper's tail goes, caret and all.
	lines := strings.Split(msg, "\n")
	out := lines[:0]
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		caret := i+1 < len(lines) && strings.TrimSpace(lines[i+1]) == "^"
		switch {
		case strings.HasPrefix(l, "LINE 1: "+wrapperHead):
			out = append(out, "LINE 1: "+strings.TrimPrefix(l, "LINE 1: "+wrapperHead))
			if caret {
				out = append(out, strings.Replace(lines[i+1], strings.Repeat(" ", len(wrapperHead)), "", 1))
				i++
			}
			continue
		case strings.HasPrefix(l, "LINE ") && strings.Contains(l, wrapperAlias):
			if caret {
				i++
			}
			continue
		}
		out = append(out, strings.ReplaceAll(l, wrapperAlias, "the query"))
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n ")
}
