package testutil

import (
	"net/netip"
	"testing"
)

// TestLastAddr checks LastAddr on hand-worked prefixes of both families,
// unmasked ones included.
func TestLastAddr(t *testing.T) {
	for _, c := range []struct{ prefix, want string }{
		{"1.2.3.0/24", "1.2.3.255"},
		{"1.2.3.4/32", "1.2.3.4"},
		{"0.0.0.0/0", "255.255.255.255"},
		{"10.1.2.3/12", "10.15.255.255"},
		{"2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"2001:db8::1/127", "2001:db8::1"},
		{"::ffff:1.2.3.0/120", "::ffff:1.2.3.255"},
	} {
		if got := LastAddr(netip.MustParsePrefix(c.prefix)); got != netip.MustParseAddr(c.want) {
			t.Errorf("LastAddr(%s) = %v, want %s", c.prefix, got, c.want)
		}
	}
}
