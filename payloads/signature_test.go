package payloads

import (
	"net/http"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func TestVoucherifySignatureVectors(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"a":1}`, "a17d2ac229d1ebbb5f10e839c7985c4818e5986eab297f7e5979196d4d7d3ed2"},
		{`{"a\"b":1}`, "f7cf97814a03146abedb9793f56e1dec34f618f82d10395310d053f749483ffb"},
		{`  message  `, "53ff92957e1427ce23ad5bda9d0c5f2f4ff384d0806b83eeacb510c842d3a358"},
	}
	for _, tt := range tests {
		if got := VoucherifySignature("secretKey", []byte(tt.body)); got != tt.want {
			t.Errorf("VoucherifySignature(%q) = %s, want %s", tt.body, got, tt.want)
		}
	}
}

func TestStandardSignatureVector(t *testing.T) {
	got, err := StandardSignature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("StandardSignature = %s, want %s", got, want)
	}
	if _, err := StandardSignature("whsec_not base64!", "id", 1, nil); err == nil {
		t.Error("a secret that is not base64 signed without error")
	}
}

// TestSignHeadersVerifyWithStandardLibrary checks the headers with the official Standard
// Webhooks Go library, for the current secret and, during a rotation, the old one.
func TestSignHeadersVerifyWithStandardLibrary(t *testing.T) {
	current, old := NewSecret(), NewSecret()
	body := []byte(`{"id":"whs_1","data":{"a":1}}`)
	h := http.Header{}
	if err := SignHeaders(h, []string{current, old}, "whs_1", time.Now(), body); err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string]string{"current": current, "old": old} {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, h); err != nil {
			t.Errorf("%s secret: Verify: %v", name, err)
		}
		if err := wh.Verify(append(body, ' '), h); err == nil {
			t.Errorf("%s secret: a changed body verified", name)
		}
	}
	if got, want := h.Get("x-voucherify-signature"), VoucherifySignature(current, body); got != want {
		t.Errorf("x-voucherify-signature = %s, want the current secret's %s", got, want)
	}
	if err := SignHeaders(http.Header{}, nil, "whs_1", time.Now(), body); err == nil {
		t.Error("signing without a secret succeeded")
	}
}

func TestNewSecretShape(t *testing.T) {
	s := NewSecret()
	if _, err := standardwebhooks.NewWebhook(s); err != nil || len(s) != len("whsec_")+44 {
		t.Errorf("NewSecret() = %q: %v", s, err)
	}
	if NewSecret() == s {
		t.Error("two secrets are equal")
	}
}
