package cli

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/api"
)

// TestBadFlagsSayWhatToWrite: each slip a new user makes with a flag is answered with the
// flag and the form it takes, before anything is sent.
func TestBadFlagsSayWhatToWrite(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	create := []string{"distributions", "create", "--name", "n", "--events", "customer.order.paid", "--event-name", "E"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "--type", "customer.order.paid", "--data", "{\"order\": {\"id\": \"o\",}\n}"},
			`--data: not valid JSON at line 1, column 22 (byte 22): invalid character '}' looking for beginning of object key string`},
		{[]string{"send", "--type", "customer.order.paid", "--data", "{\n  \"order\": {\"id\": \"o\""},
			"--data: not valid JSON at line 2, column 22 (byte 24): it ends before the value is complete"},
		{append(create, "--url", "127.0.0.1:9000/hooks"), `--url "127.0.0.1:9000/hooks": add the scheme, such as http://127.0.0.1:9000/hooks`},
		{append(create, "--url", "http://127.0.0.1:9000/hooks", "--retry-schedule", "5,5"),
			`--retry-schedule: "5" has no unit: write 5s, 5m or 5h; the flag takes voucherify, standard or intervals such as 10s,1m,5m`},
		{append(create, "--url", "http://127.0.0.1:9000/hooks", "--timeout", "5"), `--timeout: "5" has no unit: write 5s, 5m or 5h`},
		{append(create, "--url", "http://127.0.0.1:9000/hooks", "--rate-limit", "50"), `--rate-limit: "50" is not a count per second, minute or hour such as 50/s, 1000/m or 100/h`},
		{append(create, "--url", "http://127.0.0.1:9000/hooks", "--rate-limit", "50/day"), `--rate-limit: "50/day": the unit after / is s, m or h`},
		{[]string{"webhooks", "create", "--url", "localhost:9000", "--events", "voucher.created"}, `--url "localhost:9000": add the scheme, such as http://localhost:9000`},
		{[]string{"programs", "loyalty", "c", "--url", "example.com/hooks"}, `--url "example.com/hooks": add the scheme, such as http://example.com/hooks`},
		{[]string{"programs", "pause", "loyal", "camp_1"}, `no program "loyal": did you mean loyalty? The programs are loyalty and referral`},
		{[]string{"programs", "resume", "cashback", "camp_1"}, `no program "cashback": the programs are loyalty and referral`},
		{[]string{"health", "--timeout", "5"}, `invalid argument "5" for "--timeout" flag: "5" has no unit: write 5s, 5m or 5h`},
	} {
		_, _, err := h.run(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want it to say %q", tc.args, err, tc.want)
		}
	}
	if ds, err := st.ListDistributions(t.Context()); err != nil || len(ds) != 0 {
		t.Errorf("bad flags created %d distributions (%v)", len(ds), err)
	}
}

// TestDurationsTakeDays: --expire 1d, a retry schedule and a timeout in days or Go units
// are taken as every duration is.
func TestDurationsTakeDays(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	if out, _, err := h.run("secrets", "rotate", "--expire", "1d"); err != nil || !strings.Contains(out, "previous secret signs webhook-signature until") {
		t.Fatalf("secrets rotate --expire 1d: %v\n%s", err, out)
	}
	p, err := st.Project(t.Context())
	if err != nil || len(p.Previous) != 1 {
		t.Fatalf("project %+v (%v), want one previous secret", p, err)
	}
	if left := time.Until(p.Previous[0].ExpiresAt); left < 23*time.Hour || left > 25*time.Hour {
		t.Errorf("the old secret signs for %s more, want a day", left)
	}
	_, _, err = h.run("distributions", "create", "--name", "n", "--events", "customer.order.paid", "--event-name", "E",
		"--url", "http://127.0.0.1:9000/hooks", "--retry-schedule", "1m,1d", "--timeout", "30s", "--rate-limit", "1000/m")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := st.ListDistributions(t.Context())
	if err != nil || len(ds) != 1 {
		t.Fatalf("%d distributions (%v)", len(ds), err)
	}
	if gaps := ds[0].Webhook.Schedule().Gaps(); len(gaps) != 2 || gaps[1] != 24*time.Hour || ds[0].Webhook.AttemptTimeout() != 30*time.Second {
		t.Errorf("schedule %v, timeout %s; want [1m 24h] and 30s", gaps, ds[0].Webhook.AttemptTimeout())
	}
	if ds[0].Webhook.RateLimit != "1000/m" {
		t.Errorf("--rate-limit 1000/m gave rate_limit %q", ds[0].Webhook.RateLimit)
	}
}

// TestReceiveSaysWhatToWrite: a bare port, a taken port and a malformed secret are each
// answered with what to write instead.
func TestReceiveSaysWhatToWrite(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, port, _ := net.SplitHostPort(taken.Addr().String())
	for _, tc := range []struct {
		o    receiveOptions
		want string
	}{
		{receiveOptions{listen: "9000", status: 503}, "--listen 9000: give an address with the port: 127.0.0.1:9000 (this machine only) or :9000 (every interface)"},
		{receiveOptions{listen: taken.Addr().String(), status: 503}, "--listen " + taken.Addr().String() + ": port " + port + " is taken: another program listens there"},
		{receiveOptions{listen: "127.0.0.1:0", status: 503, secret: "mysecret"}, "--secret: not a signing secret: one is whsec_ followed by base64"},
		{receiveOptions{listen: "127.0.0.1:0", status: 503, secret: "whsec_!!"}, "--secret: not a signing secret: one is whsec_ followed by base64"},
	} {
		err := runReceive(context.Background(), tc.o, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want it to say %q", tc.o, err, tc.want)
		}
		if tc.o.secret != "" && err != nil && strings.Contains(err.Error(), tc.o.secret) {
			t.Errorf("the error repeats the secret: %v", err)
		}
	}
}

// TestFileUnknownFieldsAllAtOnce: a YAML file with several unknown fields, nested ones
// among them, is answered with every one at its path.
func TestFileUnknownFieldsAllAtOnce(t *testing.T) {
	h, _ := newHarness(t, &api.Server{})
	doc := `name: Paid orders
trigger:
  event: [customer.order.paid]
webhook:
  event_name: Order-paid
  url: http://127.0.0.1:9000/hooks
  retries: 3
`
	_, _, err := h.runWithInput(doc, "distributions", "create", "-f", "-")
	for _, want := range []string{"trigger.event: unknown field; did you mean events?", "webhook.retries: unknown field"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("create -f: %v, want it to say %q", err, want)
		}
	}
}
