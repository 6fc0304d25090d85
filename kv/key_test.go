package kv

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// unhex decodes hex written with spaces between groups.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// TestNetKey checks the network part of data keys against keys worked out by
// hand, and that decoding gives the prefix back.
func TestNetKey(t *testing.T) {
	tests := []struct {
		prefix string
		key    string // 16 address bytes, then the prefix length in tree space
	}{
		{"0.0.0.0/0", "00000000 00000000 00000000 00000000 60"},
		{"10.0.0.0/8", "00000000 00000000 00000000 0a000000 68"},
		{"1.2.3.0/24", "00000000 00000000 00000000 01020300 78"},
		{"255.255.255.255/32", "00000000 00000000 00000000 ffffffff 80"},
		{"::/0", "00000000 00000000 00000000 00000000 00"},
		{"::/64", "00000000 00000000 00000000 00000000 40"},
		{"::1:0:0/96", "00000000 00000000 00000001 00000000 60"},
		{"2001:db8::/32", "20010db8 00000000 00000000 00000000 20"},
		{"2001:db8::1/128", "20010db8 00000000 00000000 00000001 80"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "ffffffff ffffffff ffffffff ffffffff 80"},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			p := netip.MustParsePrefix(tt.prefix)
			if err := checkPrefix(p); err != nil {
				t.Fatalf("checkPrefix: %v", err)
			}
			want := unhex(t, tt.key)
			got := appendNetKey(nil, p)
			if !bytes.Equal(got, want) {
				t.Fatalf("appendNetKey = %x, want %x", got, want)
			}
			back, err := decodeNetKey(got)
			if err != nil {
				t.Fatalf("decodeNetKey: %v", err)
			}
			if back != p {
				t.Fatalf("decodeNetKey = %v, want %v", back, p)
			}
		})
	}
}

// TestDataKey checks whole data keys worked out by hand.
func TestDataKey(t *testing.T) {
	// The example drawn in the package documentation.
	doc := appendNetKey(appendGenPrefix(nil, 1, 7), netip.MustParsePrefix("10.0.0.0/8"))
	if want := unhex(t, "64 00000001 00000007 000000000000000000000000 0a000000 68"); !bytes.Equal(doc, want) {
		t.Fatalf("doc example key = %x, want %x", doc, want)
	}
	key := appendNetKey(appendGenPrefix(nil, 1, 0x0203), netip.MustParsePrefix("10.1.0.0/16"))
	want := unhex(t, "64 00000001 00000203 00000000 00000000 00000000 0a010000 70")
	if !bytes.Equal(key, want) {
		t.Fatalf("data key = %x, want %x", key, want)
	}
	layer, gen, net, err := parseDataKey(key)
	if err != nil || layer != 1 || gen != 0x203 || !bytes.Equal(net, want[9:]) {
		t.Fatalf("parseDataKey = %d, %d, %x, %v", layer, gen, net, err)
	}
	lo, hi := genBounds(1, 0x203)
	if bytes.Compare(lo, key) > 0 || bytes.Compare(key, hi) >= 0 {
		t.Fatalf("key %x outside its generation's bounds [%x, %x)", key, lo, hi)
	}
	llo, lhi := layerBounds(1)
	if !bytes.Equal(llo, unhex(t, "64 00000001")) || !bytes.Equal(lhi, unhex(t, "64 00000002")) {
		t.Fatalf("layerBounds(1) = %x, %x", llo, lhi)
	}
	_, ghi := genBounds(1, ^uint32(0))
	if !bytes.Equal(ghi, lhi) {
		t.Fatalf("genBounds(1, max) hi = %x, want the next layer %x", ghi, lhi)
	}
	_, lhi = layerBounds(^uint32(0))
	if !bytes.Equal(lhi, []byte{'e'}) {
		t.Fatalf("layerBounds(max) hi = %x, want 65", lhi)
	}
}

// TestNetKeyOrder checks that the byte order of keys is the merge order: by
// address in tree space, IPv4 inside ::/96, shorter prefixes first.
func TestNetKeyOrder(t *testing.T) {
	ordered := []string{
		"::/0",
		"::/64",
		"0.0.0.0/0",
		"0.0.0.0/8",
		"0.0.0.0/32",
		"1.0.0.0/8",
		"1.2.3.0/24",
		"1.2.3.0/25",
		"1.2.3.128/25",
		"1.2.4.0/24",
		"255.255.255.255/32",
		"::1:0:0/96",
		"2001:db8::/32",
		"2001:db8::/48",
		"2001:db8::/128",
		"2001:db8:1::/48",
		"ffff::/16",
	}
	var keys [][]byte
	for _, s := range ordered {
		keys = append(keys, appendNetKey(nil, netip.MustParsePrefix(s)))
	}
	for i := 1; i < len(keys); i++ {
		if bytes.Compare(keys[i-1], keys[i]) >= 0 {
			t.Errorf("key of %s (%x) does not sort before key of %s (%x)", ordered[i-1], keys[i-1], ordered[i], keys[i])
		}
	}
	shuffled := slices.Clone(keys)
	slices.Reverse(shuffled)
	slices.SortFunc(shuffled, bytes.Compare)
	if !slices.EqualFunc(shuffled, keys, bytes.Equal) {
		t.Errorf("sorting keys does not give the expected order")
	}
}

// TestCheckPrefix lists the prefixes Put rejects.
func TestCheckPrefix(t *testing.T) {
	tests := []struct {
		name string
		p    netip.Prefix
		ok   bool
	}{
		{"zero", netip.Prefix{}, false},
		{"unmasked v4", netip.MustParsePrefix("1.2.3.4/24"), false},
		{"unmasked v6", netip.MustParsePrefix("2001:db8::1/64"), false},
		{"v4-mapped", netip.MustParsePrefix("::ffff:1.2.3.0/120"), false},
		{"v4-mapped /96", netip.MustParsePrefix("::ffff:0:0/96"), false},
		{"in ::/96", netip.MustParsePrefix("::1.2.3.0/120"), false},
		{"::/96 itself", netip.MustParsePrefix("::/96"), false},
		{"::/95 covers IPv4", netip.MustParsePrefix("::/95"), true},
		{"::ffff:0:0/95", netip.MustParsePrefix("::fffe:0:0/95"), true},
		{"v4 host", netip.MustParsePrefix("1.2.3.4/32"), true},
		{"v6 host", netip.MustParsePrefix("2001:db8::1/128"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPrefix(tt.p)
			if (err == nil) != tt.ok {
				t.Fatalf("checkPrefix(%v) = %v, want ok=%v", tt.p, err, tt.ok)
			}
		})
	}
}

// TestDecodeNetKeyErrors checks that malformed network keys give errors.
func TestDecodeNetKeyErrors(t *testing.T) {
	tests := []struct {
		name string
		key  []byte
	}{
		{"short", make([]byte, netKeyLen-1)},
		{"long", make([]byte, netKeyLen+1)},
		{"bits 129", append(make([]byte, 16), 129)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p, err := decodeNetKey(tt.key); err == nil {
				t.Fatalf("decodeNetKey(%x) = %v, want an error", tt.key, p)
			}
		})
	}
}

// TestDecodeNetKeyAllocs holds decodeNetKey to not allocating.
func TestDecodeNetKeyAllocs(t *testing.T) {
	k := appendNetKey(nil, netip.MustParsePrefix("2001:db8::/32"))
	if n := testing.AllocsPerRun(100, func() { _, _ = decodeNetKey(k) }); n != 0 {
		t.Fatalf("decodeNetKey allocates %v times", n)
	}
}

// TestMetaRoundTrip checks the metadata record encoding.
func TestMetaRoundTrip(t *testing.T) {
	tests := []layerMeta{
		{Layer: Layer{ID: 1, Name: "a", Priority: -3}},
		{Layer: Layer{ID: 7, Name: "bertgeo", Priority: 100}, gens: []genMeta{{gen: 3, sourceID: "sha256:ab"}, {gen: 9}}},
		{Layer: Layer{ID: 8, Name: "merged", Priority: 0}, gens: []genMeta{{gen: 10, sourceID: "s", merged: true}, {gen: 11}}},
	}
	for _, m := range tests {
		t.Run(m.Name, func(t *testing.T) {
			b := encodeMeta(&m)
			got, err := decodeMeta(m.Name, b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Layer != m.Layer || !slices.Equal(got.gens, m.gens) {
				t.Fatalf("decodeMeta = %+v, want %+v", got, m)
			}
			for i := range b {
				if _, err := decodeMeta(m.Name, b[:i]); err == nil {
					t.Fatalf("decodeMeta of the first %d of %d bytes succeeded", i, len(b))
				}
			}
		})
	}
}

// TestMetaVersions checks metadata records written by hand, in both versions.
func TestMetaVersions(t *testing.T) {
	tests := []struct {
		name string
		rec  string
		want layerMeta // Name "l"
		ok   bool
	}{
		{"v1", "01 00000002 fffffffe 01 00000005 02 6162", layerMeta{Layer: Layer{ID: 2, Name: "l", Priority: -2}, gens: []genMeta{{gen: 5, sourceID: "ab"}}}, true},
		{"v2", "02 00000002 00000003 02 00000005 01 01 61 00000006 00 00",
			layerMeta{Layer: Layer{ID: 2, Name: "l", Priority: 3}, gens: []genMeta{{gen: 5, sourceID: "a", merged: true}, {gen: 6}}}, true},
		{"v2 unknown flag", "02 00000002 00000003 01 00000005 02 00", layerMeta{}, false},
		{"v3", "03 00000002 00000003 00", layerMeta{}, false},
		{"trailing", "02 00000002 00000003 00 ff", layerMeta{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeMeta("l", unhex(t, tt.rec))
			if (err == nil) != tt.ok {
				t.Fatalf("decodeMeta = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && (got.Layer != tt.want.Layer || !slices.Equal(got.gens, tt.want.gens)) {
				t.Fatalf("decodeMeta = %+v, want %+v", got, tt.want)
			}
		})
	}
}
