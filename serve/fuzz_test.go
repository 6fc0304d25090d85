package serve

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// FuzzServeHTTP sends arbitrary requests (method, path, Accept-Encoding,
// body) to a Server with per-item batch errors: it must not panic, must
// answer a status of the package documentation, and every JSON answer
// must parse (after gunzipping when it says gzip). A 200 lookup answers
// the address netip parses from the path, zone dropped.
func FuzzServeHTTP(f *testing.F) {
	db := writeDB(f, f.TempDir(), "a.mmdb", 6, countriesA)
	s := newServer(f, Options{Path: db, BatchItemErrors: true})
	for _, c := range []struct{ method, path, ae, body string }{
		{"GET", "/v1/lookup/1.2.3.4", "", ""},
		{"HEAD", "/v1/lookup/2001:db8::1%eth0", "gzip", ""},
		{"GET", "/v1/lookup/::ffff:1.2.3.4", "gzip;q=0", ""},
		{"POST", "/v1/lookup", "gzip", `["1.2.3.4","\u0007",5,null,{"a":1}]`},
		{"POST", "/v1/lookup", "", `[` + strings.Repeat(`"5.6.7.8",`, 200) + `"1.2.3.4"]`},
		{"GET", "/healthz", "", ""},
		{"PUT", "/readyz", "", ""},
		{"GET", "/metrics", "gzip", ""},
		{"GET", "/v1/lookup/1.2.3.0/24", "", ""},
		{"DELETE", "/nowhere/\xff", "", ""},
	} {
		f.Add(c.method, c.path, c.ae, c.body)
	}
	f.Fuzz(func(t *testing.T, method, path, ae, body string) {
		r := &http.Request{Method: method, URL: &url.URL{Path: path}, Header: http.Header{}, RemoteAddr: "192.0.2.1:1234",
			Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
		if ae != "" {
			r.Header.Set("Accept-Encoding", ae)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed,
			http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
		default:
			t.Fatalf("%s %q: status %d: %s", method, path, w.Code, w.Body)
		}
		b := w.Body.Bytes()
		if w.Header().Get("Content-Encoding") == "gzip" && method != http.MethodHead {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s %q: gzip: %v", method, path, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s %q: gunzip: %v", method, path, err)
			}
		}
		if method == http.MethodHead || (path == "/metrics" && w.Code == http.StatusOK) {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("%s %q: status %d, the body is not JSON: %q", method, path, w.Code, b)
		}
		if w.Code != http.StatusOK || !strings.HasPrefix(path, lookupPrefix) || method != http.MethodGet {
			return
		}
		want, err := netip.ParseAddr(path[len(lookupPrefix):])
		if err != nil {
			t.Fatalf("%q answered 200, but netip does not parse it: %v", path, err)
		}
		var ans struct {
			IP string `json:"ip"`
		}
		if err := json.Unmarshal(b, &ans); err != nil || ans.IP != want.WithZone("").String() {
			t.Fatalf("%q: answered for %q, want %s (%v)", path, ans.IP, want.WithZone(""), err)
		}
	})
}
