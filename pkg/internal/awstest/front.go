package awstest

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
)

// KillSafeEndpoint returns the endpoint of a front for the server that reads each request whole
// before passing it on, and finishes passing it on when the client has gone away. Tests that
// SIGKILL a client of dynalite need it: dynalite 4.0.0 dies (an unhandled ECONNRESET thrown
// from req.on('error')) when a client disconnects in the middle of a request, which the real
// DynamoDB shrugs off. A request the client did not finish sending never reaches the server;
// one it did is served whole, as the real service would. The test's end stops the front.
func (d *DynamoDBServer) KillSafeEndpoint(t testing.TB) string {
	t.Helper()
	target, err := url.Parse(d.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
		},
		// The answer to a client that has gone away has nowhere to go: no news for the test log.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		r = r.WithContext(context.WithoutCancel(r.Context()))
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
