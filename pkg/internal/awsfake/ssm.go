// Package awsfake holds HTTP fakes of the AWS services that have no server a test can run here:
// SSM Parameter Store (JSON 1.1 protocol) and the Redshift management API (Query protocol). The
// real aws-sdk-go-v2 clients talk to them through BaseEndpoint; they answer with the field names,
// pagination tokens and error codes AWS uses, and record every request so tests can count calls.
//
// They are fakes, not mocks: behaviour follows the service (limits, decryption, markers), never
// magic inputs. Tests inject failures explicitly with Fail or Deny.
package awsfake

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// Region and Account are those of every fake resource and client.
const (
	Region  = "us-east-1"
	Account = "123456789012"
)

// Parameter types of SSM.
const (
	String       = "String"
	StringList   = "StringList"
	SecureString = "SecureString"
)

// maxNames is GetParameters' limit on names per call.
const maxNames = 10

// SSM is a fake of SSM Parameter Store. It answers GetParameters and GetParameter.
type SSM struct {
	// URL is the endpoint to give clients as BaseEndpoint.
	URL string

	mu       sync.Mutex
	params   map[string]ssmParam
	requests []SSMRequest
	failures map[string]apiError
	// nameFailures fail every GetParameters or GetParameter call that asks for the name.
	nameFailures map[string]apiError
}

type ssmParam struct {
	typ, value string
	version    int64
	modified   time.Time
}

// SSMRequest is one request the fake received.
type SSMRequest struct {
	// Action is the operation, e.g. "GetParameters".
	Action string
	// Names are the parameter names asked for (Name for GetParameter).
	Names          []string
	WithDecryption bool
}

type apiError struct {
	status        int
	code, message string
}

// NewSSM starts a fake that the end of the test stops.
func NewSSM(t testing.TB) *SSM {
	s := &SSM{params: map[string]ssmParam{}, failures: map[string]apiError{}, nameFailures: map[string]apiError{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Put creates or overwrites a parameter; typ is String, StringList or SecureString.
func (s *SSM) Put(name, typ, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.params[name]
	s.params[name] = ssmParam{typ: typ, value: value, version: p.version + 1, modified: time.Now()}
}

// Delete removes a parameter.
func (s *SSM) Delete(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.params, name)
}

// Fail makes every later call of action fail with the AWS error code and message, e.g.
// Fail("GetParameters", "AccessDeniedException", "User: … is not authorized …").
func (s *SSM) Fail(action, code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	status := http.StatusBadRequest
	if code == "InternalServerError" {
		status = http.StatusInternalServerError
	}
	s.failures[action] = apiError{status: status, code: code, message: message}
}

// FailName makes every later call that asks for the parameter name fail as a whole with the
// AWS error code and message, as SSM does when the caller may not read one of the names
// (AccessDeniedException) or KMS refuses to decrypt one SecureString (e.g.
// AccessDeniedException naming kms:Decrypt, or InvalidKeyId when the key is disabled).
func (s *SSM) FailName(name, code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nameFailures[name] = apiError{status: http.StatusBadRequest, code: code, message: message}
}

// Requests returns the requests received so far.
func (s *SSM) Requests() []SSMRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Client is a real SSM client pointed at the fake, with static credentials and no retries.
func (s *SSM) Client() *ssm.Client {
	return ssm.NewFromConfig(clientConfig(), func(o *ssm.Options) { o.BaseEndpoint = aws.String(s.URL) })
}

func clientConfig() aws.Config {
	return aws.Config{
		Region:           Region,
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDFAKE", "fake-secret", ""),
		RetryMaxAttempts: 1,
	}
}

// Ciphertext is what the fake returns for a SecureString read without decryption: like AWS, a
// base64 KMS blob that never contains the plain value.
func Ciphertext(value string) string {
	sum := sha256.Sum256([]byte(value))
	return base64.StdEncoding.EncodeToString(append([]byte{1, 2, 2, 0, 120}, sum[:]...))
}

func (s *SSM) serve(w http.ResponseWriter, r *http.Request) {
	if !signed(r) {
		writeJSONError(w, apiError{http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	action, ok := strings.CutPrefix(target, "AmazonSSM.")
	if r.Method != http.MethodPost || !ok {
		writeJSONError(w, apiError{http.StatusBadRequest, "UnknownOperationException", ""})
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeJSONError(w, apiError{http.StatusBadRequest, "SerializationException", err.Error()})
		return
	}
	var in struct {
		Name           string
		Names          []string
		WithDecryption bool
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeJSONError(w, apiError{http.StatusBadRequest, "SerializationException", "Start of structure or map found where not expected."})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	req := SSMRequest{Action: action, Names: in.Names, WithDecryption: in.WithDecryption}
	if action == "GetParameter" {
		req.Names = []string{in.Name}
	}
	s.requests = append(s.requests, req)
	if f, ok := s.failures[action]; ok {
		writeJSONError(w, f)
		return
	}
	switch action {
	case "GetParameters":
		s.getParameters(w, in.Names, in.WithDecryption)
	case "GetParameter":
		if e, ok := s.nameFailures[in.Name]; ok {
			writeJSONError(w, e)
			return
		}
		p, ok := s.params[in.Name]
		if !ok {
			writeJSONError(w, apiError{http.StatusBadRequest, "ParameterNotFound", ""})
			return
		}
		writeJSON(w, map[string]any{"Parameter": s.render(in.Name, p, in.WithDecryption)})
	default:
		writeJSONError(w, apiError{http.StatusBadRequest, "UnknownOperationException", ""})
	}
}

func (s *SSM) getParameters(w http.ResponseWriter, names []string, decrypt bool) {
	switch {
	case len(names) == 0:
		writeJSONError(w, apiError{http.StatusBadRequest, "ValidationException",
			"1 validation error detected: Value '[]' at 'names' failed to satisfy constraint: Member must have length greater than or equal to 1"})
		return
	case len(names) > maxNames:
		writeJSONError(w, apiError{http.StatusBadRequest, "ValidationException", fmt.Sprintf(
			"1 validation error detected: Value '[%s]' at 'names' failed to satisfy constraint: Member must have length less than or equal to %d",
			strings.Join(names, ", "), maxNames)})
		return
	}
	for _, n := range names {
		if e, ok := s.nameFailures[n]; ok {
			writeJSONError(w, e)
			return
		}
	}
	params := []map[string]any{}
	invalid := []string{}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		if p, ok := s.params[n]; ok {
			params = append(params, s.render(n, p, decrypt))
		} else {
			invalid = append(invalid, n)
		}
	}
	writeJSON(w, map[string]any{"Parameters": params, "InvalidParameters": invalid})
}

func (s *SSM) render(name string, p ssmParam, decrypt bool) map[string]any {
	value := p.value
	if p.typ == SecureString && !decrypt {
		value = Ciphertext(p.value)
	}
	return map[string]any{
		"Name":             name,
		"Type":             p.typ,
		"Value":            value,
		"Version":          p.version,
		"LastModifiedDate": float64(p.modified.UnixMilli()) / 1000,
		"ARN":              fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", Region, Account, strings.TrimPrefix(name, "/")),
		"DataType":         "text",
	}
}

// signed reports whether the request carries a SigV4 signature, as every SDK request does.
func signed(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ")
}

// SigningRegion is the region of a SigV4 request's credential scope
// (Credential=<key>/<date>/<region>/<service>/aws4_request).
func SigningRegion(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	parts := strings.Split(strings.SplitN(cred, ",", 2)[0], "/")
	if len(parts) < 5 {
		return ""
	}
	return parts[2]
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", requestID())
	_ = json.NewEncoder(w).Encode(v)
}

func writeJSONError(w http.ResponseWriter, e apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", requestID())
	w.WriteHeader(e.status)
	body := map[string]string{"__type": e.code}
	if e.message != "" {
		body["message"] = e.message
	}
	_ = json.NewEncoder(w).Encode(body)
}

// requestID is a fresh id per response, as AWS sends in x-amzn-RequestId.
func requestID() string { return rand.Text() }
