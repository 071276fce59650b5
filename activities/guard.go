package activities

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"code.dny.dev/ssrf"
)

// TargetGuard refuses connections to addresses that are not public, unless an allowed
// prefix admits them. It checks at dial time, after DNS resolution, so a name that resolves
// (or rebinds) to an internal address is refused too.
//
// What is public: for IPv4, every address outside the special-purpose blocks; for IPv6, only
// global unicast 2000::/3, minus its special-purpose blocks. So an IPv6 form that embeds an
// IPv4 address is refused whatever that address is (IPv4-compatible ::/96, NAT64 64:ff9b::/96
// and 64:ff9b:1::/48, 6to4 2002::/16, Teredo 2001::/32), except IPv4-mapped ::ffff:0:0/96,
// which is checked as the IPv4 address it maps.
type TargetGuard struct {
	// Allow admits addresses that would be refused, e.g. 127.0.0.0/8 for local receivers. It
	// is checked first.
	Allow []netip.Prefix
}

// ErrRefusedTarget is wrapped by the error of a refused connection.
var ErrRefusedTarget = errors.New("refused target")

// The special-purpose tables come from code.dny.dev/ssrf v0.3.0, released 2026-07-07: its
// ssrf_gen.go, one entry per line with its name and RFC, is generated (cmd/ssrfgen) from the
// CSV files of the IANA registries iana-ipv4-special-registry and iana-ipv6-special-registry
// as they stood at that release. The generator keeps
// every block, including those the registry marks "globally reachable": a webhook target
// there is never legitimate, so hookflow refuses them deliberately. Among them:
//
//   - 192.0.0.0/24 as a whole (RFC 6890), with its PCP and TURN anycast addresses;
//   - 192.31.196.0/24 AS112-v4 (RFC 7535), 192.175.48.0/24 AS112 direct delegation
//     (RFC 7534), 192.52.193.0/24 AMT (RFC 7450), 192.88.99.0/24 the former 6to4 relay
//     anycast (RFC 7526);
//   - 2001::/23 as a whole (RFC 2928): Teredo 2001::/32, 2001:3::/32 AMT, 2001:4:112::/48
//     AS112-v6, ORCHIDv2 2001:20::/28, DRIP 2001:30::/28 and the anycast addresses in
//     2001:1::/48;
//   - 2620:4f:8000::/48 AS112 direct delegation (RFC 7534);
//   - the documentation blocks 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 (RFC 5737),
//     2001:db8::/32 (RFC 3849) and 3fff::/20 (RFC 9637).
//
// Update the module to follow the registries; TestGuardCheck names every block it relies on.
var (
	ipv4SpecialPurpose = ssrf.IPv4DeniedPrefixes
	ipv6GlobalUnicast  = ssrf.IPv6GlobalUnicast // 2000::/3, RFC 4291: the only IPv6 admitted
	ipv6SpecialPurpose = ssrf.IPv6DeniedPrefixes
)

// Check reports whether the guard lets a connection to ip through.
func (g *TargetGuard) Check(ip netip.Addr) error {
	ip = ip.Unmap() // ::ffff:10.0.0.1 is 10.0.0.1
	for _, p := range g.Allow {
		if p.Contains(ip) {
			return nil
		}
	}
	// The common classes first, for an error that says what the address is.
	switch {
	case !ip.IsValid():
		return fmt.Errorf("%w: invalid address", ErrRefusedTarget)
	case ip.IsLoopback():
		return fmt.Errorf("%w: %s is a loopback address (admit it with --allow-target)", ErrRefusedTarget, ip)
	case ip.IsPrivate():
		return fmt.Errorf("%w: %s is a private address (admit it with --allow-target)", ErrRefusedTarget, ip)
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return fmt.Errorf("%w: %s is a link-local address", ErrRefusedTarget, ip)
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return fmt.Errorf("%w: %s is a multicast address", ErrRefusedTarget, ip)
	case ip.IsUnspecified():
		return fmt.Errorf("%w: %s is the unspecified address", ErrRefusedTarget, ip)
	}
	special := ipv4SpecialPurpose
	if ip.Is6() {
		if !ipv6GlobalUnicast.Contains(ip) {
			return fmt.Errorf("%w: %s is outside global unicast %s, not a public address", ErrRefusedTarget, ip, ipv6GlobalUnicast)
		}
		special = ipv6SpecialPurpose
	}
	for _, p := range special {
		if p.Contains(ip) {
			return fmt.Errorf("%w: %s is in the special-purpose block %s, not a public address", ErrRefusedTarget, ip, p)
		}
	}
	return nil
}

// control is a net.Dialer Control function: it runs after resolution, with the address
// about to be connected to.
func (g *TargetGuard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read address %q", ErrRefusedTarget, address)
	}
	return g.Check(ap.Addr())
}

// ParseAllowList reads --allow-target values: CIDR prefixes or single addresses.
func ParseAllowList(values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range values {
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, fmt.Errorf("--allow-target %q: not a CIDR prefix such as 10.0.0.0/8 or an address", v)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Loopback admits 127.0.0.0/8 and ::1, what `hookflow dev` allows by default.
var Loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
