package serve

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBatchItemErrorsJSON: with BatchItemErrors, a batch whose bad
// elements hold control characters, non-printable runes or invalid UTF-8
// is answered with valid JSON, each "ip" the element as given (strconv's
// \a, \v, \x00 and \U000e0001 escapes were sent, which no JSON parser
// reads).
func TestBatchItemErrorsJSON(t *testing.T) {
	db := writeDB(t, t.TempDir(), "a.mmdb", 6, countriesA)
	s, err := New(Options{Path: db, BatchItemErrors: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	given := []string{"\a1.2.3.4", "\x00", "\v", "1.2.3.4\U000e0001", "\u0085", "a\"b\\c", "1.2.3.4"}
	body, _ := json.Marshal(given)
	// Non-string elements are given back as their JSON text, invalid
	// UTF-8 (allowed inside a JSON string by encoding/json) included.
	raw := strings.TrimSuffix(string(body), "]") + ",{\"\xff\":1},true]"
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/lookup", strings.NewReader(raw)))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if !json.Valid(w.Body.Bytes()) {
		t.Fatalf("the answer is not JSON: %q", w.Body)
	}
	var answers []struct {
		IP    string `json:"ip"`
		Error string `json:"error"`
		Found *bool  `json:"found"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &answers); err != nil {
		t.Fatal(err)
	}
	want := append(given, "{\"\ufffd\":1}", "true")
	if len(answers) != len(want) {
		t.Fatalf("%d answers for %d elements", len(answers), len(want))
	}
	for i, a := range answers {
		last := i == len(given)-1
		switch {
		case last && (a.Found == nil || a.Error != ""):
			t.Errorf("element %d (%q): %+v, want an answer", i, want[i], a)
		case !last && a.Error == "":
			t.Errorf("element %d (%q): no error", i, want[i])
		}
		if a.IP != want[i] {
			t.Errorf("element %d: ip %q, want %q", i, a.IP, want[i])
		}
	}
}

// TestAcceptsGzipQZero: a q of zero in any spelling RFC 9110 allows
// refuses gzip; "q=0" was the only one recognised.
func TestAcceptsGzipQZero(t *testing.T) {
	for _, c := range []struct {
		header string
		want   bool
	}{
		{"gzip", true}, {"GZIP", true}, {" gzip ", true}, {"br, gzip", true}, {", ,gzip", true},
		{"gzip;q=1", true}, {"gzip;q=0.5", true}, {"gzip;q=0.001", true}, {"gzip; q=1.0", true},
		{"gzip;q=0", false}, {"gzip;q=0.0", false}, {"gzip; q=0.000", false}, {"gzip;Q=0", false},
		{"gzip ; q = 0", false}, {"gzip;q=0.", false}, {"gzip;level=1;q=0", false},
		{"br, gzip;q=0", false}, {"x-gzip", false}, {"", false}, {"deflate", false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Encoding", c.header)
		if got := acceptsGzip(r); got != c.want {
			t.Errorf("Accept-Encoding %q: acceptsGzip %v, want %v", c.header, got, c.want)
		}
	}
}
