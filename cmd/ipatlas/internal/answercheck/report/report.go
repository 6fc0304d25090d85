// Package report is the JSON report that internal/answercheck prints and
// the export tests of cmd/ipatlas read: one type for both sides.
package report

import "net/netip"

// Report is what answercheck found comparing B's answers with A's.
type Report struct {
	Addresses  int          `json:"addresses"`
	Found      int          `json:"found"`
	Pairs      int          `json:"record_pairs_compared"`
	Wider      int          `json:"wider_in_b"`
	Skipped    int          `json:"skipped"`
	SkipFound  int          `json:"skipped_found_in_a"`
	TypeSample []netip.Addr `json:"type_sample"`
	// Networks4 and Networks6 count A's networks with data (aliases
	// left out).
	Networks4 int `json:"networks4_a"`
	Networks6 int `json:"networks6_a"`
}
