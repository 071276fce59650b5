package activities

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// TargetGuard refuses connections to addresses that are not public (loopback, private,
// link-local, multicast, unspecified, and the like), unless an allowed prefix admits them.
// It checks at dial time, after DNS resolution, so a name that resolves (or rebinds) to an
// internal address is refused too.
type TargetGuard struct {
	// Allow admits addresses that would be refused, e.g. 127.0.0.0/8 for local receivers.
	Allow []netip.Prefix
}

// ErrRefusedTarget is wrapped by the error of a refused connection.
var ErrRefusedTarget = errors.New("refused target")

// internalRanges are refused in addition to what netip classifies (loopback, private,
// link-local, multicast, unspecified).
var internalRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),      // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),       // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),      // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),        // reserved, and the broadcast address
	netip.MustParsePrefix("64:ff9b::/96"),       // NAT64: embeds an IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),     // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),      // documentation
	netip.MustParsePrefix("::ffff:0:0:0/96"),    // IPv4-translated
	netip.MustParsePrefix("100::/64"),           // discard-only
	netip.MustParsePrefix("2002::/16"),          // 6to4: embeds an IPv4 address
	netip.MustParsePrefix("2001::/32"),          // Teredo: embeds an IPv4 address
	netip.MustParsePrefix("fec0::/10"),          // deprecated site-local
	netip.MustParsePrefix("ff00::/8"),           // multicast (also caught below)
	netip.MustParsePrefix("169.254.169.254/32"), // cloud metadata (link-local, named for clarity)
}

// Check reports whether the guard lets a connection to ip through.
func (g *TargetGuard) Check(ip netip.Addr) error {
	ip = ip.Unmap() // ::ffff:10.0.0.1 is 10.0.0.1
	for _, p := range g.Allow {
		if p.Contains(ip) {
			return nil
		}
	}
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
	for _, p := range internalRanges {
		if p.Contains(ip) {
			return fmt.Errorf("%w: %s is in %s, not a public address", ErrRefusedTarget, ip, p)
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
