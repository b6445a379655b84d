package awsfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/athena"
)

// Athena is a fake of the Athena API (JSON 1.1, X-Amz-Target: AmazonAthena.<Operation>) with the
// four operations a query needs: StartQueryExecution, GetQueryExecution, GetQueryResults and
// StopQueryExecution. Each query string is answered by the script registered for it with On.
type Athena struct {
	URL string

	mu      sync.Mutex
	scripts map[string]AthenaScript
	execs   map[string]*athenaExec
	order   []string // execution ids in start order
	calls   []AthenaCall
	tokens  map[string]athenaPage
	// workgroups, once one is added, are the only ones StartQueryExecution and GetWorkGroup know.
	workgroups map[string]AthenaWorkGroup
}

// AthenaWorkGroup is a workgroup as GetWorkGroup shows it and as StartQueryExecution applies it.
type AthenaWorkGroup struct {
	Name string
	// Disabled workgroups refuse queries.
	Disabled bool
	// OutputLocation is the workgroup's result location; "" means none.
	OutputLocation string
	// Enforce makes the workgroup's settings override the query's (EnforceWorkGroupConfiguration).
	Enforce bool
	// EngineVersion is 2 or 3 (default 3).
	EngineVersion int
}

// AddWorkGroup adds a workgroup. Once the fake has one, it checks every query's workgroup, output
// location and result reuse against them as Athena does, answering InvalidRequestException.
func (f *Athena) AddWorkGroup(wg AthenaWorkGroup) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.workgroups == nil {
		f.workgroups = map[string]AthenaWorkGroup{}
	}
	if wg.EngineVersion == 0 {
		wg.EngineVersion = 3
	}
	f.workgroups[wg.Name] = wg
}

// Athena's messages for requests its configuration refuses.
const (
	AthenaNoOutputLocation = "No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input."
	AthenaReuseNeedsV3     = "Query result reuse is not supported by Athena engine version 2. Upgrade the workgroup to Athena engine version 3."
)

// DefaultAthenaResults is the result location of the workgroups of a fake that has none added.
const DefaultAthenaResults = "s3://athena-fake-results/"

func (f *Athena) workgroup(name string) (AthenaWorkGroup, *AthenaAPIError) {
	if f.workgroups == nil {
		// Before any is added, every workgroup exists and is usable.
		return AthenaWorkGroup{Name: name, OutputLocation: DefaultAthenaResults, EngineVersion: 3}, nil
	}
	wg, ok := f.workgroups[name]
	if !ok {
		return wg, &AthenaAPIError{Type: "InvalidRequestException", Message: fmt.Sprintf("WorkGroup %s is not found.", name)}
	}
	return wg, nil
}

func (f *Athena) getWorkGroup(body map[string]any) (any, *AthenaAPIError) {
	wg, aerr := f.workgroup(athenaStr(body, "WorkGroup"))
	if aerr != nil {
		return nil, aerr
	}
	state := "ENABLED"
	if wg.Disabled {
		state = "DISABLED"
	}
	engine := fmt.Sprintf("Athena engine version %d", wg.EngineVersion)
	conf := map[string]any{
		"EnforceWorkGroupConfiguration": wg.Enforce,
		"EngineVersion":                 map[string]any{"SelectedEngineVersion": engine, "EffectiveEngineVersion": engine},
	}
	if wg.OutputLocation != "" {
		conf["ResultConfiguration"] = map[string]any{"OutputLocation": wg.OutputLocation}
	}
	return map[string]any{"WorkGroup": map[string]any{"Name": wg.Name, "State": state, "Configuration": conf}}, nil
}

// AthenaScript says how the fake runs one query.
type AthenaScript struct {
	// StartError, when set, is the error StartQueryExecution answers (e.g. InvalidRequestException
	// for a syntax error Athena finds before it queues the query).
	StartError *AthenaAPIError
	// States are the states GetQueryExecution reports, one per call; the last one stays. Empty
	// means SUCCEEDED at once. A StopQueryExecution turns the state into CANCELLED.
	States []string
	// StateChangeReason and Error describe a FAILED or CANCELLED end.
	StateChangeReason string
	Error             *AthenaQueryError
	// StatementType is DML by default. DML results start with a header row, as Athena's do.
	StatementType string
	Columns       []AthenaColumn
	// Rows hold the values as Athena renders them as text; a nil value is SQL NULL.
	Rows [][]*string
}

// AthenaColumn is one column of a result set's metadata.
type AthenaColumn struct {
	Name      string
	Type      string // Athena's type name: varchar, bigint, decimal, timestamp, array, …
	Precision int32
	Scale     int32
}

// AthenaQueryError is the AthenaError of a failed query. Category 1 is SYSTEM, 2 USER, 3 OTHER.
type AthenaQueryError struct {
	Category  int32
	Type      int32
	Retryable bool
	Message   string
}

// AthenaAPIError is an error answer of the Athena API: HTTP status, __type, Message.
type AthenaAPIError struct {
	Status  int // default 400
	Type    string
	Message string
}

// AthenaCall is one request the fake received.
type AthenaCall struct {
	Operation string // StartQueryExecution, GetQueryExecution, …
	// QueryExecutionID is the execution the call was about (for Start: the one it created).
	QueryExecutionID string
	Body             map[string]any
}

// AthenaExecution is what the fake knows of one started query.
type AthenaExecution struct {
	ID                 string
	Query              string
	WorkGroup          string
	Catalog            string
	Database           string
	OutputLocation     string
	ClientRequestToken string
	// ReuseMaxAgeMinutes is the result reuse age asked for; 0 when reuse was not asked.
	ReuseMaxAgeMinutes int
	State              string
	Stopped            bool
}

type athenaExec struct {
	AthenaExecution
	script AthenaScript
	polls  int
}

type athenaPage struct {
	exec   string
	offset int
}

// NewAthena starts the fake; it stops with the test. On a test failure it logs the calls.
func NewAthena(t testing.TB) *Athena {
	t.Helper()
	f := &Athena{scripts: map[string]AthenaScript{}, execs: map[string]*athenaExec{}, tokens: map[string]athenaPage{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = srv.URL
	t.Cleanup(func() {
		srv.Close()
		if t.Failed() {
			for _, c := range f.Calls() {
				t.Logf("athena fake: %s %s", c.Operation, c.QueryExecutionID)
			}
		}
	})
	return f
}

// Client returns a real Athena client that talks to the fake, with static test credentials and no
// retries, so every call the code makes is one request here.
func (f *Athena) Client() *athena.Client {
	return athena.New(athena.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(f.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIAFAKEATHENA", "fake-secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       newWholeBodyClient(),
	})
}

// On registers the script of one query string; a query with no script fails to start with an
// InvalidRequestException.
func (f *Athena) On(query string, s AthenaScript) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scripts[query] = s
}

// Calls returns the requests received so far, in order.
func (f *Athena) Calls() []AthenaCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]AthenaCall(nil), f.calls...)
}

// Count returns how many requests of operation the fake received.
func (f *Athena) Count(operation string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c.Operation == operation {
			n++
		}
	}
	return n
}

// Executions returns the started queries, in start order.
func (f *Athena) Executions() []AthenaExecution {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]AthenaExecution, len(f.order))
	for i, id := range f.order {
		out[i] = f.execs[id].AthenaExecution
	}
	return out
}

const athenaTargetPrefix = "AmazonAthena."

func (f *Athena) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		writeAthenaError(w, &AthenaAPIError{Status: http.StatusNotFound, Type: "UnknownOperationException", Message: "not found"})
		return
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1"):
		writeAthenaError(w, &AthenaAPIError{Type: "SerializationException", Message: "expected application/x-amz-json-1.1"})
		return
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "):
		writeAthenaError(w, &AthenaAPIError{Status: http.StatusForbidden, Type: "MissingAuthenticationTokenException", Message: "Missing Authentication Token"})
		return
	case !strings.HasPrefix(target, athenaTargetPrefix):
		writeAthenaError(w, &AthenaAPIError{Type: "UnknownOperationException", Message: fmt.Sprintf("unknown target %q", target)})
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		writeAthenaError(w, &AthenaAPIError{Status: http.StatusInternalServerError, Type: "InternalServerException", Message: err.Error()})
		return
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		writeAthenaError(w, &AthenaAPIError{Type: "SerializationException", Message: err.Error()})
		return
	}
	op := strings.TrimPrefix(target, athenaTargetPrefix)

	f.mu.Lock()
	defer f.mu.Unlock()
	call := AthenaCall{Operation: op, Body: body}
	var out any
	var aerr *AthenaAPIError
	switch op {
	case "StartQueryExecution":
		call.QueryExecutionID, out, aerr = f.start(body)
	case "GetQueryExecution":
		call.QueryExecutionID = athenaStr(body, "QueryExecutionId")
		out, aerr = f.getExecution(call.QueryExecutionID)
	case "GetQueryResults":
		call.QueryExecutionID = athenaStr(body, "QueryExecutionId")
		out, aerr = f.getResults(call.QueryExecutionID, body)
	case "StopQueryExecution":
		call.QueryExecutionID = athenaStr(body, "QueryExecutionId")
		out, aerr = f.stop(call.QueryExecutionID)
	case "GetWorkGroup":
		out, aerr = f.getWorkGroup(body)
	default:
		aerr = &AthenaAPIError{Type: "UnknownOperationException", Message: "operation " + op + " is not faked"}
	}
	f.calls = append(f.calls, call)
	if aerr != nil {
		writeAthenaError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", athenaID())
	_ = json.NewEncoder(w).Encode(out)
}

func (f *Athena) start(body map[string]any) (string, any, *AthenaAPIError) {
	query := athenaStr(body, "QueryString")
	if query == "" {
		return "", nil, &AthenaAPIError{Type: "InvalidRequestException", Message: "QueryString must not be empty"}
	}
	s, ok := f.scripts[query]
	if !ok {
		return "", nil, &AthenaAPIError{Type: "InvalidRequestException", Message: "no script for this query in the fake"}
	}
	if s.StartError != nil {
		return "", nil, s.StartError
	}
	e := &athenaExec{script: s, AthenaExecution: AthenaExecution{
		ID:                 athenaID(),
		Query:              query,
		WorkGroup:          athenaStr(body, "WorkGroup"),
		Catalog:            athenaStr(athenaObj(body, "QueryExecutionContext"), "Catalog"),
		Database:           athenaStr(athenaObj(body, "QueryExecutionContext"), "Database"),
		OutputLocation:     athenaStr(athenaObj(body, "ResultConfiguration"), "OutputLocation"),
		ClientRequestToken: athenaStr(body, "ClientRequestToken"),
		State:              "QUEUED",
	}}
	if e.WorkGroup == "" {
		e.WorkGroup = "primary"
	}
	if f.workgroups != nil {
		wg, aerr := f.workgroup(e.WorkGroup)
		if aerr != nil {
			return "", nil, aerr
		}
		if wg.Disabled {
			return "", nil, &AthenaAPIError{Type: "InvalidRequestException", Message: fmt.Sprintf("WorkGroup %s is disabled.", wg.Name)}
		}
		if wg.Enforce || e.OutputLocation == "" {
			e.OutputLocation = wg.OutputLocation
		}
		if e.OutputLocation == "" {
			return "", nil, &AthenaAPIError{Type: "InvalidRequestException", Message: AthenaNoOutputLocation}
		}
		if wg.EngineVersion < 3 && athenaObj(athenaObj(body, "ResultReuseConfiguration"), "ResultReuseByAgeConfiguration")["Enabled"] == true {
			return "", nil, &AthenaAPIError{Type: "InvalidRequestException", Message: AthenaReuseNeedsV3}
		}
	}
	if reuse := athenaObj(athenaObj(body, "ResultReuseConfiguration"), "ResultReuseByAgeConfiguration"); reuse["Enabled"] == true {
		age, _ := reuse["MaxAgeInMinutes"].(float64)
		if age < 1 || age > 10080 {
			return "", nil, &AthenaAPIError{Type: "InvalidRequestException", Message: "MaxAgeInMinutes must be between 1 and 10080"}
		}
		e.ReuseMaxAgeMinutes = int(age)
	}
	f.execs[e.ID] = e
	f.order = append(f.order, e.ID)
	return e.ID, map[string]any{"QueryExecutionId": e.ID}, nil
}

func (f *Athena) lookup(id string) (*athenaExec, *AthenaAPIError) {
	e, ok := f.execs[id]
	if !ok {
		return nil, &AthenaAPIError{Type: "InvalidRequestException", Message: fmt.Sprintf("QueryExecution %s was not found", id)}
	}
	return e, nil
}

func (f *Athena) getExecution(id string) (any, *AthenaAPIError) {
	e, aerr := f.lookup(id)
	if aerr != nil {
		return nil, aerr
	}
	if !e.Stopped {
		switch states := e.script.States; {
		case len(states) == 0:
			e.State = "SUCCEEDED"
		case e.polls < len(states):
			e.State = states[e.polls]
		default:
			e.State = states[len(states)-1]
		}
	}
	e.polls++
	status := map[string]any{"State": e.State, "SubmissionDateTime": float64(time.Now().Unix())}
	if e.State == "FAILED" || e.State == "CANCELLED" {
		status["CompletionDateTime"] = float64(time.Now().Unix())
		if reason := e.script.StateChangeReason; reason != "" && !e.Stopped {
			status["StateChangeReason"] = reason
		}
		if ae := e.script.Error; ae != nil && !e.Stopped {
			status["AthenaError"] = map[string]any{"ErrorCategory": ae.Category, "ErrorType": ae.Type,
				"Retryable": ae.Retryable, "ErrorMessage": ae.Message}
		}
	}
	stmt := e.script.StatementType
	if stmt == "" {
		stmt = "DML"
	}
	qe := map[string]any{
		"QueryExecutionId": e.ID,
		"Query":            e.Query,
		"StatementType":    stmt,
		"WorkGroup":        e.WorkGroup,
		"Status":           status,
		"QueryExecutionContext": map[string]any{
			"Catalog": e.Catalog, "Database": e.Database,
		},
		"EngineVersion": map[string]any{"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"},
	}
	if e.OutputLocation != "" {
		qe["ResultConfiguration"] = map[string]any{"OutputLocation": strings.TrimSuffix(e.OutputLocation, "/") + "/" + e.ID + ".csv"}
	}
	return map[string]any{"QueryExecution": qe}, nil
}

// maxResultsLimit is the largest page GetQueryResults serves.
const maxResultsLimit = 1000

func (f *Athena) getResults(id string, body map[string]any) (any, *AthenaAPIError) {
	e, aerr := f.lookup(id)
	if aerr != nil {
		return nil, aerr
	}
	if e.State != "SUCCEEDED" {
		return nil, &AthenaAPIError{Type: "InvalidRequestException", Message: "Query has not yet finished. Current state: " + e.State}
	}
	limit := maxResultsLimit
	if v, ok := body["MaxResults"].(float64); ok {
		if v < 1 || v > maxResultsLimit {
			return nil, &AthenaAPIError{Type: "InvalidRequestException",
				Message: fmt.Sprintf("1 validation error detected: Value '%v' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000", v)}
		}
		limit = int(v)
	}
	offset := 0
	if tok := athenaStr(body, "NextToken"); tok != "" {
		p, ok := f.tokens[tok]
		if !ok || p.exec != id {
			return nil, &AthenaAPIError{Type: "InvalidRequestException", Message: "The NextToken is invalid"}
		}
		offset = p.offset
	}
	// A DML result is its header row followed by the data rows; pages cut across both.
	all := e.script.Rows
	stmt := e.script.StatementType
	if stmt == "" || stmt == "DML" {
		header := make([]*string, len(e.script.Columns))
		for i, c := range e.script.Columns {
			header[i] = &c.Name
		}
		all = append([][]*string{header}, all...)
	}
	end := min(offset+limit, len(all))
	rows := make([]map[string]any, 0, end-offset)
	for _, r := range all[offset:end] {
		data := make([]map[string]any, len(r))
		for i, v := range r {
			data[i] = map[string]any{}
			if v != nil {
				data[i]["VarCharValue"] = *v
			}
		}
		rows = append(rows, map[string]any{"Data": data})
	}
	cols := make([]map[string]any, len(e.script.Columns))
	for i, c := range e.script.Columns {
		cols[i] = map[string]any{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": c.Name,
			"Label": c.Name, "Type": c.Type, "Precision": c.Precision, "Scale": c.Scale,
			"Nullable": "UNKNOWN", "CaseSensitive": c.Type == "varchar"}
	}
	out := map[string]any{
		"UpdateCount": 0,
		"ResultSet":   map[string]any{"Rows": rows, "ResultSetMetadata": map[string]any{"ColumnInfo": cols}},
	}
	if end < len(all) {
		tok := athenaID() + athenaID()
		f.tokens[tok] = athenaPage{exec: id, offset: end}
		out["NextToken"] = tok
	}
	return out, nil
}

func (f *Athena) stop(id string) (any, *AthenaAPIError) {
	e, aerr := f.lookup(id)
	if aerr != nil {
		return nil, aerr
	}
	// Stopping a query that already ended is accepted and changes nothing, as in Athena.
	if e.State == "QUEUED" || e.State == "RUNNING" {
		e.State = "CANCELLED"
		e.Stopped = true
	}
	return map[string]any{}, nil
}

func writeAthenaError(w http.ResponseWriter, e *AthenaAPIError) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", athenaID())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"__type": e.Type, "Message": e.Message})
}

func athenaStr(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func athenaObj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

// athenaID is a random id in the shape of Athena's query execution ids.
func athenaID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
