package awstest

import (
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// S3Writes stands between a client and an S3 server and counts, per object, the writes the
// server accepted: PutObject and CompleteMultipartUpload answered with 200. It counts what
// reached the server, whichever process sent it, so a test can tell an object written twice
// from one written once even when both writes leave the same bytes under the same key.
type S3Writes struct {
	// Endpoint is where clients send their requests instead of the server.
	Endpoint string

	mu     sync.Mutex
	writes map[string]int
	parts  int
	hold   *PartHold
}

// PartHold keeps the requests that upload one part number of any multipart upload from
// reaching the server (see HoldPart).
type PartHold struct {
	part    int
	reached chan struct{}
	once    sync.Once
	release chan struct{}
	free    sync.Once
}

// Reached is closed when a request for the held part number has arrived and is being held.
func (h *PartHold) Reached() <-chan struct{} { return h.reached }

// Release lets held requests and later ones through.
func (h *PartHold) Release() { h.free.Do(func() { close(h.release) }) }

// RecordS3Writes starts the recorder in front of the server at endpoint; the test's end stops
// it. Requests pass unchanged, the Host header included, so SigV4 signatures made for the
// recorder's address hold at the server.
func RecordS3Writes(t testing.TB, endpoint string) *S3Writes {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	w := &S3Writes{writes: map[string]int{}}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode == http.StatusOK {
				key, ok := objectWrite(resp.Request)
				w.mu.Lock()
				if ok {
					w.writes[key]++
				} else if isPartUpload(resp.Request) {
					w.parts++
				}
				w.mu.Unlock()
			}
			return nil
		},
		// A killed client cancels its requests: expected here, and no news for the test log.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		h := w.hold
		w.mu.Unlock()
		if h != nil && isPartUpload(r) && r.URL.Query().Get("partNumber") == strconv.Itoa(h.part) {
			h.once.Do(func() { close(h.reached) })
			select {
			case <-h.release:
			case <-r.Context().Done():
				// The client went away (killed): the part never reaches the server.
				return
			}
		}
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(func() {
		w.mu.Lock()
		if w.hold != nil {
			w.hold.Release()
		}
		w.mu.Unlock()
		srv.Close()
	})
	w.Endpoint = srv.URL
	return w
}

// objectWrite tells whether a path-style request writes a whole object, and which
// ("<bucket>/<key>"): a PUT with a key that is not a part upload or a copy, or the POST that
// completes a multipart upload.
func objectWrite(r *http.Request) (string, bool) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket == "" || key == "" {
		return "", false
	}
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPut && !q.Has("uploadId") && !q.Has("partNumber") &&
		!q.Has("tagging") && !q.Has("acl") && r.Header.Get("X-Amz-Copy-Source") == "":
		return bucket + "/" + key, true
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return bucket + "/" + key, true
	}
	return "", false
}

func isPartUpload(r *http.Request) bool {
	q := r.URL.Query()
	return r.Method == http.MethodPut && q.Has("uploadId") && q.Has("partNumber")
}

// HoldPart makes the recorder hold every request that uploads part number part (of any
// multipart upload) until Release, or until its client goes away, in which case the part never
// reaches the server. A test uses it to kill a client in the middle of a multipart upload
// whatever the speed of the machine: once Reached is closed and an earlier part was accepted,
// the upload is open on the server and cannot complete.
func (w *S3Writes) HoldPart(part int) *PartHold {
	h := &PartHold{part: part, reached: make(chan struct{}), release: make(chan struct{})}
	w.mu.Lock()
	w.hold = h
	w.mu.Unlock()
	return h
}

// Parts returns how many parts of multipart uploads the server accepted so far.
func (w *S3Writes) Parts() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.parts
}

// Counts returns the accepted writes per "<bucket>/<key>" so far.
func (w *S3Writes) Counts() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.writes)
}
