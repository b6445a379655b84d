package athena

import (
	"errors"
	"fmt"
	"strings"

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

// ErrConfiguration marks a query Athena refused for the datasource's settings or the
// workgroup's, not for its SQL: no output location, an unknown or disabled workgroup, result
// reuse on engine version 2. The error names the setting to change.
var ErrConfiguration = errors.New("Athena configuration")

// classifyAPIError sorts the InvalidRequestException with which Athena refuses a query before
// queueing it: Athena uses the one error type for the query's faults (a syntax error, an unknown
// table) and for the configuration's. Only the message tells them apart.
func classifyAPIError(err error, o Options) error {
	var ire *types.InvalidRequestException
	if !errors.As(err, &ire) {
		return err
	}
	msg := ire.ErrorMessage()
	if setting := configSetting(msg, o); setting != "" {
		return &configError{msg: msg, setting: setting, err: err}
	}
	return &rejectedError{msg: msg, err: err}
}

// configSetting names what to change for an InvalidRequestException about the configuration;
// "" when the message is about the query.
func configSetting(msg string, o Options) string {
	m := strings.ToLower(msg)
	wg := o.Workgroup
	if wg == "" {
		wg = "primary"
	}
	switch {
	case strings.Contains(m, "output location") || strings.Contains(m, "outputlocation"):
		return fmt.Sprintf("set query.athena.outputLocation, or a query result location in workgroup %s", wg)
	case strings.Contains(m, "workgroup") && (strings.Contains(m, "not found") || strings.Contains(m, "does not exist")):
		return fmt.Sprintf("query.athena.workgroup %q does not exist in this account and region", wg)
	case strings.Contains(m, "workgroup") && strings.Contains(m, "disabled"):
		return fmt.Sprintf("workgroup %s (query.athena.workgroup) is disabled: enable it or name another", wg)
	case strings.Contains(m, "reuse"):
		return fmt.Sprintf("query.athena.resultReuse needs Athena engine version 3: upgrade workgroup %s or set resultReuse to 0", wg)
	}
	return ""
}

// configError is an Athena refusal because of the configuration. It matches ErrConfiguration
// and the client's error, not duckdb.ErrInvalid: the query's author can do nothing about it.
type configError struct {
	msg, setting string
	err          error
}

func (e *configError) Error() string {
	return "Athena configuration: " + e.setting + " (Athena: " + e.msg + ")"
}
func (e *configError) Unwrap() []error { return []error{ErrConfiguration, e.err} }

// rejectedError says what Athena found wrong with a query, without the HTTP details of the
// call, and matches both duckdb.ErrInvalid and the client's error.
type rejectedError struct {
	msg string
	err error
}

func (e *rejectedError) Error() string   { return "invalid query: " + e.msg }
func (e *rejectedError) Unwrap() []error { return []error{duckdb.ErrInvalid, e.err} }
