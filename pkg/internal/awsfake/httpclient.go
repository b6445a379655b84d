package awsfake

import (
	"bytes"
	"io"
	"net/http"
)

// wholeBodyClient sends each request with its body copied into memory first. The SDK closes a
// request's body stream once the response has arrived; net/http may still be reading that
// stream for its end after the last byte went out, and then fails the write and closes the
// connection under the response being read ("use of closed network connection", about one
// request in a thousand against a local fake that answers at once). A body in memory reads
// to its end whatever the SDK does to its stream.
type wholeBodyClient struct{ c *http.Client }

func newWholeBodyClient() wholeBodyClient {
	return wholeBodyClient{c: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}
}

func (w wholeBodyClient) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		req.ContentLength = int64(len(b))
	}
	return w.c.Do(req)
}
