package athena

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/stlarchive/redshift-stl-archive/pkg/query/duckdb"
)

// Categories of an AthenaError: whose fault a failed query is.
const (
	CategorySystem int32 = 1
	CategoryUser   int32 = 2
	CategoryOther  int32 = 3
)

var (
	// ErrFailed marks a query Athena ran and failed; a *QueryError says why.
	ErrFailed = errors.New("query failed in Athena")
	// ErrCancelled marks a query cancelled in Athena by someone else than this engine: an
	// operator, or a workgroup's data usage limit.
	ErrCancelled = errors.New("query cancelled in Athena")
)

// QueryError is a query that ended FAILED or CANCELLED, with Athena's account of it. Errors of
// the USER category (a missing column, a bad cast, a partition filter Athena rejects) match
// duckdb.ErrInvalid, so that the datasource reports them as the query author's; SYSTEM and
// OTHER errors are Athena's.
type QueryError struct {
	State    types.QueryExecutionState
	Reason   string // StateChangeReason
	Category int32  // 0 when Athena gave none
	Type     int32  // Athena's error type code, 0 when none
	Message  string // AthenaError.ErrorMessage
}

func newQueryError(s *types.QueryExecutionStatus) *QueryError {
	e := &QueryError{State: s.State}
	if s.StateChangeReason != nil {
		e.Reason = *s.StateChangeReason
	}
	if ae := s.AthenaError; ae != nil {
		if ae.ErrorCategory != nil {
			e.Category = *ae.ErrorCategory
		}
		if ae.ErrorType != nil {
			e.Type = *ae.ErrorType
		}
		if ae.ErrorMessage != nil {
			e.Message = *ae.ErrorMessage
		}
	}
	return e
}

func (e *QueryError) Error() string {
	what := "failed"
	if e.State == types.QueryExecutionStateCancelled {
		what = "was cancelled in Athena"
	}
	why := e.Reason
	if e.Message != "" && e.Message != e.Reason {
		if why != "" {
			why += "; "
		}
		why += e.Message
	}
	if why == "" {
		why = "Athena gave no reason"
	}
	switch e.Category {
	case CategorySystem:
		why += " (Athena system error)"
	case CategoryOther:
		why += " (Athena error of category OTHER)"
	}
	return fmt.Sprintf("query %s: %s", what, why)
}

// Is makes errors.Is match ErrFailed or ErrCancelled by state, and duckdb.ErrInvalid for errors
// of the USER category.
func (e *QueryError) Is(target error) bool {
	switch target {
	case ErrFailed:
		return e.State == types.QueryExecutionStateFailed
	case ErrCancelled:
		return e.State == types.QueryExecutionStateCancelled
	case duckdb.ErrInvalid:
		return e.Category == CategoryUser
	}
	return false
}

// classifyAPIError marks the errors with which Athena refuses a query before queueing it (a
// syntax error, an unknown table) as the query's.
func classifyAPIError(err error) error {
	var ire *types.InvalidRequestException
	if errors.As(err, &ire) {
		return &rejectedError{msg: ire.ErrorMessage(), err: err}
	}
	return err
}

// rejectedError says what Athena found wrong with a query, without the HTTP details of the
// call, and matches both duckdb.ErrInvalid and the client's error.
type rejectedError struct {
	msg string
	err error
}

func (e *rejectedError) Error() string   { return "invalid query: " + e.msg }
func (e *rejectedError) Unwrap() []error { return []error{duckdb.ErrInvalid, e.err} }
