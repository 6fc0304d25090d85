package gazetteer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFromGeoNamesDuplicateID: a geonameid given twice (a dump passed
// twice, or overlapping dumps) is an error naming both rows; it was
// taken as two places with one id.
func TestFromGeoNamesDuplicateID(t *testing.T) {
	dir := t.TempDir()
	row := "2988507\tParis\tParis\t\t48.85341\t2.3488\tP\tPPLC\tFR\t\t11\t75\t751\t75056\t2138551\t\t42\tEurope/Paris\t2020-01-01\n"
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	os.WriteFile(a, []byte(row), 0o644)
	os.WriteFile(b, []byte("# comment\n"+strings.Replace(row, "2988507", "2988508", 1)+row), 0o644)
	_, err := FromGeoNames(GeoNamesFiles{Places: []string{a, b}})
	var ie *InputError
	want := b + ":3: geonameid: 2988507 given twice (first at " + a + ":1)"
	if !errors.As(err, &ie) || err.Error() != want {
		t.Fatalf("FromGeoNames: %v, want %q", err, want)
	}
	// The fixture itself, given twice.
	if _, err := FromGeoNames(GeoNamesFiles{Places: []string{fixture("cities.txt"), fixture("cities.txt")}}); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("the fixture given twice: %v, want a duplicate geonameid error", err)
	}
}

// TestGeoNamesLongCellError: an error quotes at most 64 bytes of a bad
// cell (a 900 KB latitude made a 900 KB message).
func TestGeoNamesLongCellError(t *testing.T) {
	row := "1\tA\tA\t\t" + strings.Repeat("4", 900_000) + "\t2\tP\tPPL\tFR\t\t11\t\t\t\t5\t\t1\tX\t2020\n"
	err := ReadGeoNamesPlaces(strings.NewReader(row), "c.txt", func(GeoNamesPlace) error { return nil })
	want := `c.txt:1: latitude: "` + strings.Repeat("4", 64) + `"... (900000 bytes) is not a number in [-90, 90]`
	if err == nil || err.Error() != want {
		t.Fatalf("got %.200v, want %q", err, want)
	}
}
