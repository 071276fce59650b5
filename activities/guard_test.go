package activities

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hookflow/hookflow/payloads"
)

// TestGuardCheck classifies addresses without dialing any of them.
func TestGuardCheck(t *testing.T) {
	tests := []struct {
		addr    string
		refused bool
	}{
		{"8.8.8.8", false},
		{"1.1.1.1", false},
		{"2606:4700:4700::1111", false},
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"::1", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"172.32.0.1", false},
		{"192.168.1.1", true},
		{"169.254.169.254", true},
		{"fe80::1", true},
		{"fc00::1", true},
		{"fd12:3456::1", true},
		{"224.0.0.1", true},
		{"ff02::1", true},
		{"0.0.0.0", true},
		{"::", true},
		{"100.64.0.1", true},
		{"255.255.255.255", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:10.0.0.1", true},
		{"::ffff:8.8.8.8", false},
		{"64:ff9b::a00:1", true},
		{"2002:a00:1::", true},
	}
	tests = append(tests, specialPurposeTargets...)
	var g TargetGuard
	for _, tt := range tests {
		err := g.Check(netip.MustParseAddr(tt.addr))
		if (err != nil) != tt.refused {
			t.Errorf("Check(%s) = %v, want refused %v", tt.addr, err, tt.refused)
		}
		if err != nil && !errors.Is(err, ErrRefusedTarget) {
			t.Errorf("Check(%s): %v does not wrap ErrRefusedTarget", tt.addr, err)
		}
	}
	allowed := TargetGuard{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	if err := allowed.Check(netip.MustParseAddr("10.1.2.3")); err != nil {
		t.Errorf("allow-listed: %v", err)
	}
	if err := allowed.Check(netip.MustParseAddr("::ffff:10.1.2.3")); err != nil {
		t.Errorf("allow-listed, IPv4-mapped: %v", err)
	}
	if err := allowed.Check(netip.MustParseAddr("192.168.0.1")); err == nil {
		t.Error("outside the allow list passed")
	}
}

// specialPurposeTargets covers every block of the IANA special-purpose registries
// (iana-ipv4-special-registry, iana-ipv6-special-registry) and the IPv6 space outside global
// unicast: an address inside each, its edges where a neighbour is public, the forms that
// embed an IPv4 address, and public addresses that must pass.
var specialPurposeTargets = []struct {
	addr    string
	refused bool
}{
	// IPv4
	{"0.255.255.255", true},   // 0.0.0.0/8 "this network", RFC 791
	{"1.0.0.0", false},        // its upper neighbour
	{"10.255.255.255", true},  // 10.0.0.0/8 private-use, RFC 1918
	{"100.63.255.255", false}, // below 100.64.0.0/10
	{"100.64.0.0", true},      // 100.64.0.0/10 shared address space, RFC 6598
	{"100.127.255.255", true},
	{"100.128.0.0", false},
	{"127.255.255.255", true}, // 127.0.0.0/8 loopback, RFC 1122
	{"169.254.0.1", true},     // 169.254.0.0/16 link-local, RFC 3927
	{"192.0.0.8", true},       // 192.0.0.0/24 IETF protocol assignments, RFC 6890
	{"192.0.0.9", true},       // PCP anycast, RFC 7723 (globally reachable; refused)
	{"192.0.0.10", true},      // TURN anycast, RFC 8155 (globally reachable; refused)
	{"192.0.0.170", true},     // NAT64/DNS64 discovery, RFC 7050
	{"192.0.1.255", false},    // between 192.0.0.0/24 and 192.0.2.0/24
	{"192.0.2.1", true},       // 192.0.2.0/24 documentation TEST-NET-1, RFC 5737
	{"192.0.2.255", true},
	{"192.0.3.0", false},
	{"192.31.196.1", true}, // 192.31.196.0/24 AS112-v4, RFC 7535 (globally reachable; refused)
	{"192.52.193.1", true}, // 192.52.193.0/24 AMT, RFC 7450 (globally reachable; refused)
	{"192.88.99.1", true},  // 192.88.99.0/24 deprecated 6to4 relay anycast, RFC 7526
	{"192.88.100.0", false},
	{"192.168.255.255", true}, // 192.168.0.0/16 private-use, RFC 1918
	{"192.175.48.1", true},    // 192.175.48.0/24 AS112 direct delegation, RFC 7534 (globally reachable; refused)
	{"198.17.255.255", false}, // below 198.18.0.0/15
	{"198.18.0.0", true},      // 198.18.0.0/15 benchmarking, RFC 2544
	{"198.19.255.255", true},
	{"198.20.0.0", false},
	{"198.51.100.1", true}, // 198.51.100.0/24 documentation TEST-NET-2, RFC 5737
	{"203.0.113.1", true},  // 203.0.113.0/24 documentation TEST-NET-3, RFC 5737
	{"203.0.114.0", false},
	{"223.255.255.255", false}, // below multicast
	{"224.0.0.0", true},        // 224.0.0.0/4 multicast, RFC 1112
	{"239.255.255.255", true},
	{"240.0.0.1", true},       // 240.0.0.0/4 reserved, RFC 1112
	{"255.255.255.255", true}, // limited broadcast, RFC 919
	{"1.1.1.1", false},
	{"8.8.8.8", false},
	{"9.9.9.9", false},

	// IPv6 outside global unicast 2000::/3 (RFC 4291): refused as a whole
	{"::7f00:1", true},         // IPv4-compatible ::/96 (deprecated, RFC 4291) embedding 127.0.0.1
	{"::808:808", true},        // IPv4-compatible, embedding the public 8.8.8.8: still refused
	{"::ffff:0:7f00:1", true},  // IPv4-translated ::ffff:0:0:0/96, RFC 2765
	{"64:ff9b::808:808", true}, // NAT64 64:ff9b::/96, RFC 6052, even of a public address
	{"64:ff9b:1::1", true},     // local-use NAT64 64:ff9b:1::/48, RFC 8215
	{"100::1", true},           // discard-only 100::/64, RFC 6666
	{"100:0:0:1::1", true},     // dummy IPv6 prefix 100:0:0:1::/64, RFC 9780
	{"5f00::1", true},          // SRv6 SIDs 5f00::/16, RFC 9602
	{"fc00::1", true},          // unique-local fc00::/7, RFC 4193
	{"fe80::1", true},          // link-local fe80::/10, RFC 4291
	{"fec0::1", true},          // deprecated site-local fec0::/10, RFC 3879
	{"ff0e::1", true},          // multicast ff00::/8, RFC 4291
	{"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true}, // just below 2000::/3
	{"4000::1", true}, // just above 2000::/3

	// IPv6 special-purpose blocks inside global unicast
	{"2001::1", true}, // Teredo 2001::/32, RFC 4380
	{"2001:0:4136:e378:8000:63bf:3fff:fdd2", true},   // Teredo of a public server and client
	{"2001:1::1", true},                              // PCP anycast, RFC 7723 (globally reachable; refused)
	{"2001:1::3", true},                              // DNS-SD SRP anycast, RFC 9665 (globally reachable; refused)
	{"2001:2::1", true},                              // benchmarking 2001:2::/48, RFC 5180
	{"2001:3::1", true},                              // AMT 2001:3::/32, RFC 7450 (globally reachable; refused)
	{"2001:4:112::1", true},                          // AS112-v6 2001:4:112::/48, RFC 7535 (globally reachable; refused)
	{"2001:10::1", true},                             // deprecated ORCHID 2001:10::/28, RFC 4843
	{"2001:20::1", true},                             // ORCHIDv2 2001:20::/28, RFC 7343 (globally reachable; refused)
	{"2001:30::1", true},                             // DRIP 2001:30::/28, RFC 9374 (globally reachable; refused)
	{"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", true}, // last of 2001::/23, RFC 2928
	{"2001:200::1", false},                           // first after 2001::/23 (WIDE, public)
	{"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false},
	{"2001:db8::1", true}, // documentation 2001:db8::/32, RFC 3849
	{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true},
	{"2001:db9::", false},
	{"2002::1", true},         // 6to4 2002::/16, RFC 3056
	{"2002:808:808::1", true}, // 6to4 of the public 8.8.8.8: still refused
	{"2003::1", false},        // its upper neighbour (Deutsche Telekom, public)
	{"2620:4f:8000::1", true}, // AS112 direct delegation 2620:4f:8000::/48, RFC 7534 (globally reachable; refused)
	{"2620:4f:8001::", false},
	{"3fff::1", true}, // documentation 3fff::/20, RFC 9637
	{"3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", true},
	{"3fff:1000::", false},
	{"2606:4700::1111", false},
	{"2001:4860:4860::8888", false}, // in 2001:4860::/32, public, not in 2001::/23
	{"2a00:1450:4001::1", false},

	// IPv4-mapped addresses are checked as the IPv4 address they map
	{"::ffff:192.0.2.1", true},
	{"::ffff:100.64.0.1", true},
	{"::ffff:1.1.1.1", false},
}

// TestGuardCheckSpecialPurposeBlocks refuses the first and the last address of every block
// in the tables: a block the guard relies on that shrank in an update would show here.
func TestGuardCheckSpecialPurposeBlocks(t *testing.T) {
	var g TargetGuard
	for _, table := range [][]netip.Prefix{ipv4SpecialPurpose, ipv6SpecialPurpose} {
		for _, p := range table {
			first, last := p.Masked().Addr(), lastAddr(p)
			for _, a := range []netip.Addr{first, last} {
				if err := g.Check(a); !errors.Is(err, ErrRefusedTarget) {
					t.Errorf("Check(%s) in %s = %v, want refused", a, p, err)
				}
			}
		}
	}
	if len(ipv4SpecialPurpose) < 18 || len(ipv6SpecialPurpose) < 5 {
		t.Errorf("tables shrank: %d IPv4, %d IPv6 blocks", len(ipv4SpecialPurpose), len(ipv6SpecialPurpose))
	}
}

// TestGuardCheckMessages keeps the hints the errors give.
func TestGuardCheckMessages(t *testing.T) {
	var g TargetGuard
	for addr, want := range map[string]string{
		"127.0.0.1": "loopback address (admit it with --allow-target)",
		"10.0.0.1":  "private address (admit it with --allow-target)",
		"192.0.2.1": "192.0.2.1 is in the special-purpose block 192.0.2.0/24, not a public address",
		"::7f00:1":  "::7f00:1 is outside global unicast 2000::/3, not a public address",
		"2001:3::1": "2001:3::1 is in the special-purpose block 2001::/23, not a public address",
	} {
		if err := g.Check(netip.MustParseAddr(addr)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check(%s) = %v, want %q", addr, err, want)
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestParseAllowList(t *testing.T) {
	got, err := ParseAllowList([]string{"10.0.0.0/8", "192.168.1.7", "::1", "10.1.2.3/8"})
	if err != nil || len(got) != 4 || got[1].String() != "192.168.1.7/32" || got[3].String() != "10.0.0.0/8" {
		t.Errorf("%v %v", got, err)
	}
	for _, bad := range []string{"", "10.0.0.0/33", "example.com", "10.0.0.0/8/8"} {
		if _, err := ParseAllowList([]string{bad}); err == nil || !strings.Contains(err.Error(), "--allow-target") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestGuardRefusesAtDialTime posts to a loopback receiver with a guard that does not admit
// loopback: by address and by a name that resolves to it. The receiver sees nothing and the
// attempt is final.
func TestGuardRefusesAtDialTime(t *testing.T) {
	a, _ := newActivities(t)
	a.HTTP = NewHTTPClient(&TargetGuard{})
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	for _, target := range []string{srv.URL, "http://localhost:" + port + "/", "http://[::ffff:127.0.0.1]:" + port + "/"} {
		_, err := a.Post(context.Background(), request(target))
		if outcomeOf(err) != payloads.Rejected || !strings.Contains(err.Error(), "refused target") {
			t.Errorf("%s: %v", target, err)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the receiver got %d requests through the guard", hits.Load())
	}
	// A redirect to a private address is not followed: it is a failed attempt.
	a.HTTP = NewHTTPClient(&TargetGuard{Allow: Loopback})
	redirect := httptest.NewServer(http.RedirectHandler("http://10.0.0.1/internal", http.StatusFound))
	defer redirect.Close()
	if _, err := a.Post(context.Background(), request(redirect.URL)); outcomeOf(err) != payloads.Retryable || !strings.Contains(err.Error(), "HTTP 302") {
		t.Errorf("redirect: %v", err)
	}
}
