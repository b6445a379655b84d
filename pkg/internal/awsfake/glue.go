package awsfake

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/glue"
)

// GlueAccount is the account id the fake Glue answers for.
const GlueAccount = "123456789012"

// glueRegion is the region of the fake's ARNs and of the client Glue.Client builds.
const glueRegion = "us-east-1"

// Glue is an in-memory AWS Glue Data Catalog behind an httptest server that speaks the AWS JSON
// 1.1 protocol as the aws-sdk-go-v2 client does (POST /, X-Amz-Target: AWSGlue.<Action>). It
// knows GetDatabase, CreateDatabase, GetTable, CreateTable, UpdateTable and the partitions of a
// table (GetPartitions, GetPartition, BatchCreatePartition, UpdatePartition,
// BatchDeletePartition), answers with the
// error types Glue has (EntityNotFoundException, AlreadyExistsException,
// ConcurrentModificationException, AccessDeniedException, InvalidInputException) and adds to a
// stored table what Glue adds: create and update times, a version id that UpdateTable checks
// and bumps, the catalog id, and the storage descriptor defaults. It records every request.
type Glue struct {
	// URL is the endpoint to give the client as BaseEndpoint.
	URL string
	// PartitionPage is how many partitions GetPartitions returns per page when the request sets
	// no MaxResults (default 100).
	PartitionPage int

	srv *httptest.Server

	mu        sync.Mutex
	databases map[string]map[string]any            // name → Database
	tables    map[string]map[string]map[string]any // database → name → Table
	// partitions: database → table → partition values joined by partitionSep → Partition
	partitions map[string]map[string]map[string]map[string]any
	calls      []GlueCall
	denied     map[string]bool
	before     map[string][]func()
	clock      time.Time
	// connections are the catalog's connections: name → connection properties.
	connections map[string]map[string]string
}

// AddConnection stores a JDBC connection, as the 2018 solution's CloudFormation template
// creates one per cluster, with its JDBC_CONNECTION_URL (jdbc:redshift://host:port/database),
// USERNAME and PASSWORD properties.
func (g *Glue) AddConnection(name string, properties map[string]string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.connections[name] = maps.Clone(properties)
}

// GlueCall is one request the fake received: the action of its X-Amz-Target and its JSON body.
type GlueCall struct {
	Action string
	Body   json.RawMessage
}

// NewGlue starts a fake Glue that stops when the test ends.
func NewGlue(t testing.TB) *Glue {
	t.Helper()
	g := &Glue{
		databases:   map[string]map[string]any{},
		tables:      map[string]map[string]map[string]any{},
		partitions:  map[string]map[string]map[string]map[string]any{},
		denied:      map[string]bool{},
		before:      map[string][]func(){},
		connections: map[string]map[string]string{},
		clock:       time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	g.URL = g.srv.URL
	t.Cleanup(g.srv.Close)
	return g
}

// Client is a real Glue client pointed at the fake, with static credentials and no retries, so
// that a test sees each request it causes exactly once; it sends whole bodies
// (wholeBodyClient), so that no request fails for a race in the client itself.
func (g *Glue) Client() *glue.Client {
	cfg := aws.Config{
		Region:           glueRegion,
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDGLUEFAKE", "glue-fake-secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       newWholeBodyClient(),
	}
	return glue.NewFromConfig(cfg, func(o *glue.Options) { o.BaseEndpoint = aws.String(g.URL) })
}

// Deny makes every later request of action fail with AccessDeniedException, as Glue answers a
// caller whose IAM policy lacks glue:<action>.
func (g *Glue) Deny(action string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.denied[action] = true
}

// Before runs fn once, just before the fake handles the next request of action. fn runs
// without the fake's lock, so it may itself call the fake, e.g. to play a second writer that
// gets in between a read and a write.
func (g *Glue) Before(action string, fn func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.before[action] = append(g.before[action], fn)
}

// Calls returns the requests received so far, in order.
func (g *Glue) Calls() []GlueCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]GlueCall(nil), g.calls...)
}

// Actions returns the actions of the requests received so far, in order.
func (g *Glue) Actions() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, len(g.calls))
	for i, c := range g.calls {
		out[i] = c.Action
	}
	return out
}

// Mutations counts the requests received so far that can change the catalog (Create*,
// Update*, Delete*, Batch*), whether they succeeded or not.
func (g *Glue) Mutations() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.calls {
		for _, p := range []string{"Create", "Update", "Delete", "Batch"} {
			if strings.HasPrefix(c.Action, p) {
				n++
				break
			}
		}
	}
	return n
}

// glueError is an error as Glue returns it: HTTP 400 with the exception type and a message.
type glueError struct {
	Type    string
	Message string
}

func (g *Glue) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	action, ok := strings.CutPrefix(target, "AWSGlue.")
	body, err := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || !ok || err != nil {
		writeGlue(w, nil, &glueError{"UnknownOperationException", fmt.Sprintf("unknown operation %q", target)})
		return
	}

	g.mu.Lock()
	g.calls = append(g.calls, GlueCall{Action: action, Body: json.RawMessage(body)})
	hooks := g.before[action]
	if len(hooks) > 0 {
		g.before[action] = hooks[1:]
	}
	g.mu.Unlock()
	if len(hooks) > 0 {
		hooks[0]()
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		writeGlue(w, nil, &glueError{"SerializationException", "request body is not a JSON object"})
		return
	}
	if g.denied[action] {
		writeGlue(w, nil, &glueError{"AccessDeniedException", fmt.Sprintf(
			"User: arn:aws:iam::%s:user/glue-fake is not authorized to perform: glue:%s on resource: %s "+
				"because no identity-based policy allows the glue:%s action", GlueAccount, action, glueARN(in), action)})
		return
	}
	var out any
	var gerr *glueError
	switch action {
	case "GetDatabase":
		out, gerr = g.getDatabase(in)
	case "CreateDatabase":
		out, gerr = g.createDatabase(in)
	case "GetTable":
		out, gerr = g.getTable(in)
	case "CreateTable":
		out, gerr = g.createTable(in)
	case "UpdateTable":
		out, gerr = g.updateTable(in)
	case "GetConnection":
		out, gerr = g.getConnection(in)
	case "GetPartitions":
		out, gerr = g.getPartitions(in)
	case "GetPartition":
		out, gerr = g.getPartition(in)
	case "BatchCreatePartition":
		out, gerr = g.batchCreatePartition(in)
	case "UpdatePartition":
		out, gerr = g.updatePartition(in)
	case "BatchDeletePartition":
		out, gerr = g.batchDeletePartition(in)
	default:
		gerr = &glueError{"UnknownOperationException", fmt.Sprintf("the fake Glue does not implement %s", action)}
	}
	writeGlue(w, out, gerr)
}

// getConnection answers as Glue does: HidePassword leaves PASSWORD out of the properties.
func (g *Glue) getConnection(in map[string]any) (any, *glueError) {
	name := glueString(in, "Name")
	props, ok := g.connections[name]
	if !ok {
		return nil, &glueError{"EntityNotFoundException", fmt.Sprintf("Connection %s not found.", name)}
	}
	out := maps.Clone(props)
	if hide, _ := in["HidePassword"].(bool); hide {
		delete(out, "PASSWORD")
	}
	return map[string]any{"Connection": map[string]any{
		"Name": name, "ConnectionType": "JDBC", "ConnectionProperties": out,
		"CreationTime": g.tick(), "LastUpdatedTime": g.tick(),
	}}, nil
}

func writeGlue(w http.ResponseWriter, out any, gerr *glueError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "00000000-0000-0000-0000-000000000000")
	if gerr != nil {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": gerr.Type, "Message": gerr.Message})
		return
	}
	if out == nil {
		out = map[string]any{}
	}
	// A whole body with its length, as Glue sends it: the client reads to its end and keeps the
	// connection for the next request.
	b, err := json.Marshal(out)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// glueARN names the resource of a request, for the message of AccessDeniedException.
func glueARN(in map[string]any) string {
	base := fmt.Sprintf("arn:aws:glue:%s:%s:", glueRegion, GlueAccount)
	db, _ := in["DatabaseName"].(string)
	if db == "" {
		if name, _ := in["Name"].(string); name != "" {
			return base + "database/" + name
		}
		if di, ok := in["DatabaseInput"].(map[string]any); ok {
			name, _ := di["Name"].(string)
			return base + "database/" + name
		}
		return base + "catalog"
	}
	name, _ := in["Name"].(string)
	if ti, ok := in["TableInput"].(map[string]any); ok && name == "" {
		name, _ = ti["Name"].(string)
	}
	return base + "table/" + db + "/" + name
}

// tick is the time of the next change: a second after the previous one, so that tests can
// tell UpdateTime from CreateTime without a real clock.
func (g *Glue) tick() float64 {
	g.clock = g.clock.Add(time.Second)
	return float64(g.clock.Unix())
}

func glueString(in map[string]any, key string) string {
	s, _ := in[key].(string)
	return s
}

// glueName is how Glue keys databases and tables: case-insensitively, stored in lower case.
func glueName(s string) string { return strings.ToLower(s) }

func (g *Glue) getDatabase(in map[string]any) (any, *glueError) {
	name := glueName(glueString(in, "Name"))
	db, ok := g.databases[name]
	if !ok {
		return nil, &glueError{"EntityNotFoundException", fmt.Sprintf("Database %s not found.", name)}
	}
	return map[string]any{"Database": db}, nil
}

func (g *Glue) createDatabase(in map[string]any) (any, *glueError) {
	di, _ := in["DatabaseInput"].(map[string]any)
	name := glueName(glueString(di, "Name"))
	if name == "" {
		return nil, &glueError{"InvalidInputException", "DatabaseInput.Name is required"}
	}
	if _, ok := g.databases[name]; ok {
		return nil, &glueError{"AlreadyExistsException", fmt.Sprintf("Database already exists: %s", name)}
	}
	db := maps.Clone(di)
	db["Name"] = name
	db["CatalogId"] = GlueAccount
	db["CreateTime"] = g.tick()
	g.databases[name] = db
	g.tables[name] = map[string]map[string]any{}
	return nil, nil
}

func (g *Glue) getTable(in map[string]any) (any, *glueError) {
	db, gerr := g.database(in)
	if gerr != nil {
		return nil, gerr
	}
	name := glueName(glueString(in, "Name"))
	t, ok := g.tables[db][name]
	if !ok {
		return nil, &glueError{"EntityNotFoundException", fmt.Sprintf("Table %s not found.", name)}
	}
	return map[string]any{"Table": t}, nil
}

func (g *Glue) database(in map[string]any) (string, *glueError) {
	db := glueName(glueString(in, "DatabaseName"))
	if _, ok := g.databases[db]; !ok {
		return "", &glueError{"EntityNotFoundException", fmt.Sprintf("Database %s not found.", db)}
	}
	return db, nil
}

func (g *Glue) createTable(in map[string]any) (any, *glueError) {
	db, gerr := g.database(in)
	if gerr != nil {
		return nil, gerr
	}
	ti, gerr := checkGlueTableInput(in)
	if gerr != nil {
		return nil, gerr
	}
	name := glueName(glueString(ti, "Name"))
	if _, ok := g.tables[db][name]; ok {
		return nil, &glueError{"AlreadyExistsException", fmt.Sprintf("Table already exists: %s", name)}
	}
	now := g.tick()
	g.tables[db][name] = glueStoredTable(ti, db, name, now, now, 0)
	return nil, nil
}

func (g *Glue) updateTable(in map[string]any) (any, *glueError) {
	db, gerr := g.database(in)
	if gerr != nil {
		return nil, gerr
	}
	ti, gerr := checkGlueTableInput(in)
	if gerr != nil {
		return nil, gerr
	}
	name := glueName(glueString(ti, "Name"))
	cur, ok := g.tables[db][name]
	if !ok {
		return nil, &glueError{"EntityNotFoundException", fmt.Sprintf("Table %s not found.", name)}
	}
	version, _ := strconv.Atoi(glueString(cur, "VersionId"))
	if v, ok := in["VersionId"].(string); ok && v != strconv.Itoa(version) {
		return nil, &glueError{"ConcurrentModificationException", fmt.Sprintf(
			"Update table failed due to concurrent modifications: version %s was given, the table is at %d.", v, version)}
	}
	created, _ := cur["CreateTime"].(float64)
	g.tables[db][name] = glueStoredTable(ti, db, name, created, g.tick(), version+1)
	return nil, nil
}

// checkGlueTableInput checks what Glue checks of a TableInput that this fake's callers could get
// wrong: a name, and the length limits of names, types and comments.
func checkGlueTableInput(in map[string]any) (map[string]any, *glueError) {
	ti, ok := in["TableInput"].(map[string]any)
	if !ok {
		return nil, &glueError{"InvalidInputException", "TableInput is required"}
	}
	if glueString(ti, "Name") == "" {
		return nil, &glueError{"InvalidInputException", "TableInput.Name is required"}
	}
	var cols []any
	if sd, ok := ti["StorageDescriptor"].(map[string]any); ok {
		cols, _ = sd["Columns"].([]any)
	}
	pks, _ := ti["PartitionKeys"].([]any)
	for _, c := range append(cols, pks...) {
		col, _ := c.(map[string]any)
		name := glueString(col, "Name")
		switch {
		case name == "" || len(name) > 255:
			return nil, &glueError{"InvalidInputException", "1 validation error detected: column name must have length 1 to 255"}
		case len(glueString(col, "Type")) > 131072:
			return nil, &glueError{"InvalidInputException", fmt.Sprintf("1 validation error detected: type of column %s is longer than 131072", name)}
		case len(glueString(col, "Comment")) > 255:
			return nil, &glueError{"InvalidInputException", fmt.Sprintf("1 validation error detected: comment of column %s is longer than 255", name)}
		}
	}
	return ti, nil
}

// glueStoredTable is the Table that GetTable returns for a TableInput: what was sent, plus the
// fields Glue fills in itself.
func glueStoredTable(ti map[string]any, db, name string, created, updated float64, version int) map[string]any {
	t := maps.Clone(ti)
	t["Name"] = name
	t["DatabaseName"] = db
	t["CatalogId"] = GlueAccount
	t["CreateTime"] = created
	t["UpdateTime"] = updated
	t["CreatedBy"] = "arn:aws:iam::" + GlueAccount + ":user/glue-fake"
	t["IsRegisteredWithLakeFormation"] = false
	t["VersionId"] = strconv.Itoa(version)
	if _, ok := t["Retention"]; !ok {
		t["Retention"] = 0
	}
	if sd, ok := t["StorageDescriptor"].(map[string]any); ok {
		sd = maps.Clone(sd)
		for k, v := range map[string]any{"Compressed": false, "NumberOfBuckets": 0, "BucketColumns": []any{},
			"SortColumns": []any{}, "StoredAsSubDirectories": false} {
			if _, ok := sd[k]; !ok {
				sd[k] = v
			}
		}
		t["StorageDescriptor"] = sd
	}
	return t
}
