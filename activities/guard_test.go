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
