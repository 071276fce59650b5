package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/devserver"
	"github.com/hookflow/hookflow/payloads"
)

func TestReceive(t *testing.T) {
	secret := payloads.NewSecret()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	// Read only once the receiver has stopped: it writes out while it runs.
	out := &bytes.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- runReceive(ctx, receiveOptions{listen: addr, secret: secret, fail: 1, status: 503}, out)
	}()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}

	post := func(body string, tamper bool) int {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://"+addr+"/hooks", strings.NewReader(body))
		if err := payloads.SignHeaders(req.Header, []string{secret}, "whs_r1", time.Now(), []byte(body)); err != nil {
			t.Fatal(err)
		}
		if tamper {
			req.Body = http.NoBody
			req.ContentLength = 0
		}
		return postWhenUp(t, req)
	}
	if code := post(`{"id":"whs_r1","data":{"a":1}}`, false); code != 503 {
		t.Errorf("first attempt answered %d, want the --fail status 503", code)
	}
	if code := post(`{"id":"whs_r1","data":{"a":1}}`, false); code != 200 {
		t.Errorf("second attempt answered %d, want 200", code)
	}
	if code := post(`{"x":1}`, true); code != 401 {
		t.Errorf("a delivery that does not verify answered %d, want 401", code)
	}
	stop()
	got := out.String()
	if strings.Count(got, "check x-voucherify-signature: verified") != 2 || strings.Count(got, "check webhook-signature: verified") != 2 ||
		!strings.Contains(got, `"a": 1`) || !strings.Contains(got, "attempt 2  -> 200") {
		t.Errorf("output:\n%s", got)
	}
	if !strings.Contains(got, "DOES NOT VERIFY") {
		t.Errorf("a tampered body verified:\n%s", got)
	}
}

// TestReceiveAcceptInvalid: with --accept-invalid, a delivery that does not verify is
// answered 200 (and still printed as not verifying); without a secret nothing is checked.
func TestReceiveAcceptInvalid(t *testing.T) {
	secret := payloads.NewSecret()
	for _, tc := range []struct {
		o    receiveOptions
		want int
	}{
		{receiveOptions{secret: secret, status: 503, acceptInvalid: true}, 200},
		{receiveOptions{secret: secret, status: 503}, 401},
		{receiveOptions{status: 503}, 200},
	} {
		tc.o.listen = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		ctx, cancel := context.WithCancel(context.Background())
		out := &bytes.Buffer{}
		done := make(chan error, 1)
		go func() { done <- runReceive(ctx, tc.o, out) }()
		body := `{"x":1}`
		req, _ := http.NewRequest("POST", "http://"+tc.o.listen+"/hooks", strings.NewReader(body))
		// Signed for another body: does not verify.
		if err := payloads.SignHeaders(req.Header, []string{secret}, "whs_r2", time.Now(), []byte(`{"x":2}`)); err != nil {
			t.Fatal(err)
		}
		status := postWhenUp(t, req)
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if status != tc.want {
			t.Errorf("secret %v, accept-invalid %v: answered %d, want %d", tc.o.secret != "", tc.o.acceptInvalid, status, tc.want)
		}
		if tc.o.secret != "" && !strings.Contains(out.String(), "DOES NOT VERIFY") {
			t.Errorf("output:\n%s", out)
		}
	}
}

func TestReceiveBadFlags(t *testing.T) {
	for _, tc := range []struct {
		o    receiveOptions
		want string
	}{
		{receiveOptions{listen: "127.0.0.1:0", fail: -1, status: 503}, "--fail -1: must be 0 or more"},
		{receiveOptions{listen: "127.0.0.1:0", status: 200}, "--status 200: want an error status between 300 and 599"},
		{receiveOptions{listen: "127.0.0.1:0", status: 503, secret: "whsec_!!"}, "--secret: "},
		{receiveOptions{listen: "not an address", status: 503}, "--listen not an address: "},
	} {
		if err := runReceive(context.Background(), tc.o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want it to say %q", tc.o, err, tc.want)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// postWhenUp sends req to a receiver that may still be starting, trying for about a
// second, and returns the answer's status.
func postWhenUp(t *testing.T, req *http.Request) int {
	t.Helper()
	var resp *http.Response
	var err error
	for i := 0; i < 50; i++ { // the listener may not be up yet
		if resp, err = http.DefaultClient.Do(req.Clone(context.Background())); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
		req.Body, _ = req.GetBody()
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
