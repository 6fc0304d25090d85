package main

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// writeNoDescDB writes a small City database with mmdbwriter (a writer
// independent of ipatlas), which leaves the description empty.
func writeNoDescDB(t *testing.T, path string) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", IPVersion: 6, RecordSize: 28, Languages: []string{"en"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("DE")}}
	if err := tree.Insert(&net.IPNet{IP: net.IPv4(1, 2, 3, 0).To4(), Mask: net.CIDRMask(24, 32)}, rec); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err == nil {
		_, err = tree.WriteTo(f)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestVerifyEmptyDescription: a file without a description (as DB-IP's
// and GeoLite2's in the @ip-location-db npm packages; here one written
// by mmdbwriter, which maxminddb-golang v2's Verify rejects) passes
// verify with a warning, and fails with --strict.
func TestVerifyEmptyDescription(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodesc.mmdb")
	writeNoDescDB(t, path)
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
