package main

import (
	"path/filepath"
	"strings"
	"testing"

	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// TestVerifyEmptyDescription: a file without a description (as DB-IP's
// and GeoLite2's in the @ip-location-db npm packages; here one written
// by mmdbwriter, which maxminddb-golang v2's Verify rejects) passes
// verify with a warning, and fails with --strict.
func TestVerifyEmptyDescription(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodesc.mmdb")
	writeBenchDB(t, path)
	r, err := maxminddb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	perr := r.Verify()
	desc := r.Metadata.Description
	r.Close()
	if len(desc) != 0 || perr == nil || !strings.Contains(perr.Error(), "description") {
		t.Fatalf("the fixture is not what it should be: description %v, maxminddb-golang v2 Verify: %v", desc, perr)
	}
	stdout, stderr, code := runCLI(t, "verify", path)
	if code != exitOK || !strings.Contains(stdout, ": ok: ") || !strings.Contains(stderr, "warning: metadata: the description is empty") {
		t.Errorf("verify: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	_, stderr, code = runCLI(t, "verify", "--strict", path)
	if code != exitData || !strings.Contains(stderr, "--strict") {
		t.Errorf("verify --strict: exit %d\n%s", code, stderr)
	}
}
