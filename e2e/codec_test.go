package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hookflow/hookflow/cli"
	"github.com/hookflow/hookflow/codec"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/workflows"
)

// codecEmail is the customer e-mail address the encryption test looks for.
const codecEmail = "zoe.codec-test@example.com"

// TestDevCodec runs `hookflow dev` with an encryption key (from HOOKFLOW_ENCRYPTION_KEY)
// and checks that a delivery's workflow history, read without the key, and the process's
// output hold neither the customer's e-mail nor any secret; that the API's delivery log
// and the codec endpoint still show the event; and, as a control, that without a key the
// same check finds the e-mail.
func TestDevCodec(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	material := make([]byte, 32)
	if _, err := rand.Read(material); err != nil {
		t.Fatal(err)
	}
	keyB64 := base64.StdEncoding.EncodeToString(material)
	t.Setenv("HOOKFLOW_ENCRYPTION_KEY", "e2e-2026:"+keyB64)
	dir := t.TempDir()
	d := startDev(t, dir, nil)

	plain := d.client(t) // no codec: what anyone with access to Temporal sees
	dc, err := codec.NewDataConverter(codec.Key{ID: "e2e-2026", Key: material})
	if err != nil {
		t.Fatal(err)
	}
	withCodec := dialTemporal(t, d.temporal, dc)

	// The first attempt fails: its answer, with the request, goes into a failure's details.
	recv := newReceiver(t, 503, 200)
	ownSecret := payloads.NewSecret()
	const headerValue = "h3ader-codec-s3cr3t"
	status, body := call(t, "POST", d.api+"/v1/distributions", map[string]any{
		"name": "Encrypted orders", "status": "live",
		"trigger": map[string]any{"events": []string{"customer.order.paid"}},
		"action":  map[string]any{"type": "plain_message"},
		"webhook": map[string]any{
			"event_name": "Order-paid", "url": recv.URL, "version": "v2024-01-01", "secret": ownSecret, "retry_schedule": []string{"1s"},
			"headers": []map[string]any{{"name": "x-api-key", "value": headerValue, "secret": true}},
		},
	})
	if status != 201 {
		t.Fatalf("create distribution: %d %s", status, body)
	}
	send := func(d *devProcess, id string) {
		t.Helper()
		status, body := call(t, "POST", d.api+"/v1/events", fmt.Sprintf(
			`{"id":%q,"type":"customer.order.paid","data":{"customer":{"id":"cust_zoe","email":%q},"order":{"id":"ord_1","amount":100}}}`, id, codecEmail))
		if status != 202 {
			t.Fatalf("send event: %d %s", status, body)
		}
	}
	send(d, "evt_codec_1")
	var res workflows.DeliveryResult
	waitWorkflow(t, withCodec, "event/evt_codec_1", 30*time.Second, &res)
	if res.Status != workflows.StatusDelivered || len(res.Deliveries) != 1 {
		t.Fatalf("result %+v", res)
	}
	got := recv.waitRequests(t, 2, 10*time.Second)[1]
	if !bytes.Contains(got.body, []byte(codecEmail)) || got.header.Get("x-api-key") != headerValue {
		t.Fatalf("the receiver got %s %v", got.body, got.header)
	}

	secrets := map[string]string{
		"customer e-mail":      codecEmail,
		"signing secret":       strings.TrimPrefix(ownSecret, payloads.SecretPrefix),
		"secret header value":  headerValue,
		"encryption key":       keyB64,
		"encryption key (url)": base64.RawURLEncoding.EncodeToString(material),
	}
	raw, text, hist := rawHistory(t, plain, "event/evt_codec_1")
	for what, s := range secrets {
		if bytes.Contains(raw, []byte(s)) || bytes.Contains(text, []byte(s)) {
			t.Errorf("the %s is in the raw history", what)
		}
	}
	// Every payload of the history is encrypted, and the plain client cannot read the result.
	var encrypted []*commonpb.Payload
	for _, ev := range hist.Events {
		if in := ev.GetWorkflowExecutionStartedEventAttributes().GetInput(); in != nil {
			encrypted = append(encrypted, in.GetPayloads()...)
		}
	}
	if len(encrypted) != 1 || string(encrypted[0].Metadata[converter.MetadataEncoding]) != codec.MetadataEncodingEncrypted ||
		string(encrypted[0].Metadata[codec.MetadataEncryptionKeyID]) != "e2e-2026" {
		t.Fatalf("the workflow's input is not encrypted: %v", encrypted)
	}
	if n := strings.Count(string(raw), codec.MetadataEncodingEncrypted); n < 3 {
		t.Errorf("the history holds %d encrypted payloads, want the input, the attempt and the result at least", n)
	}
	var plainRes workflows.DeliveryResult
	if err := plain.GetWorkflow(context.Background(), "event/evt_codec_1", "").Get(context.Background(), &plainRes); err == nil {
		t.Error("a client without the key read the workflow's result")
	}

	// The process's output and Temporal's log hold none of them either.
	serverLog, _ := os.ReadFile(filepath.Join(dir, "temporal.log"))
	for what, s := range secrets {
		if strings.Contains(d.output.String(), s) {
			t.Errorf("the %s is in hookflow dev's output", what)
		}
		if bytes.Contains(serverLog, []byte(s)) {
			t.Errorf("the %s is in Temporal's log", what)
		}
	}
	if !strings.Contains(d.output.String(), "Encryption      AES-256-GCM, key e2e-2026") {
		t.Errorf("the banner does not tell that payloads are encrypted:\n%s", d.output)
	}

	// The delivery log decrypts: it shows the event and the body.
	deliveryID := got.header.Get("webhook-id")
	status, body = call(t, "GET", d.api+"/v1/deliveries/"+deliveryID, nil)
	var shown struct {
		Status   string          `json:"status"`
		EventID  string          `json:"event_id"`
		Body     json.RawMessage `json:"body"`
		Attempts []struct {
			StatusCode int `json:"status_code"`
		} `json:"attempts"`
	}
	mustJSON(t, body, &shown)
	if status != 200 || shown.Status != "delivered" || shown.EventID != "evt_codec_1" || !bytes.Contains(shown.Body, []byte(codecEmail)) ||
		len(shown.Attempts) != 2 || shown.Attempts[0].StatusCode != 503 || shown.Attempts[1].StatusCode != 200 {
		t.Errorf("GET /v1/deliveries/%s: %d %s", deliveryID, status, body)
	}

	// The codec endpoint decodes the history's payload, as the Web UI asks for it.
	req, _ := protojson.Marshal(&commonpb.Payloads{Payloads: encrypted})
	status, body = callWithHeaders(t, "POST", d.api+"/codec/decode?preserveStorageRefs=true", req, map[string]string{
		"Content-Type": "application/json", "X-Namespace": "default", "Origin": d.ui,
	})
	var decoded commonpb.Payloads
	if status != 200 || protojson.Unmarshal(body, &decoded) != nil || len(decoded.Payloads) != 1 ||
		!bytes.Contains(decoded.Payloads[0].Data, []byte(`"email":"`+codecEmail+`"`)) {
		t.Errorf("POST /codec/decode: %d %s", status, body)
	}
	// The browser's preflight from the Web UI is answered; another page is refused.
	status, _, header := callFull(t, "OPTIONS", d.api+"/codec/decode", nil, map[string]string{
		"Origin": d.ui, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace",
	})
	if status != http.StatusNoContent || header.Get("Access-Control-Allow-Origin") != d.ui {
		t.Errorf("preflight: %d %v", status, header)
	}
	if status, _ := callWithHeaders(t, "POST", d.api+"/codec/decode", req, map[string]string{"Origin": "https://evil.example"}); status != http.StatusForbidden {
		t.Errorf("another origin: %d", status)
	}
	// The embedded Web UI decodes through the same codec on its own port, which needs no
	// key from the browser and so serves the UI's own pages only: another page, and a
	// request from no page, are refused.
	status, body = call(t, "GET", d.ui+"/api/v1/settings", nil)
	var settings struct{ Codec struct{ Endpoint string } }
	mustJSON(t, body, &settings)
	if status != 200 || settings.Codec.Endpoint != d.ui+"/hookflow/codec" {
		t.Errorf("Web UI settings: %d %s", status, body)
	}
	status, body = callWithHeaders(t, "POST", d.ui+"/hookflow/codec/decode", req, map[string]string{
		"Content-Type": "application/json", "X-Namespace": "default", "Origin": d.ui,
	})
	decoded.Reset()
	if status != 200 || protojson.Unmarshal(body, &decoded) != nil || len(decoded.Payloads) != 1 ||
		!bytes.Contains(decoded.Payloads[0].Data, []byte(`"email":"`+codecEmail+`"`)) {
		t.Errorf("POST /hookflow/codec/decode on the UI's port: %d %s", status, body)
	}
	for _, origin := range []string{"https://evil.example", ""} {
		h := map[string]string{"Content-Type": "application/json"}
		if origin != "" {
			h["Origin"] = origin
		}
		if status, body := callWithHeaders(t, "POST", d.ui+"/hookflow/codec/decode", req, h); status != http.StatusForbidden {
			t.Errorf("the UI's codec from origin %q: %d %s", origin, status, body)
		}
	}

	// A bad key is refused at start, naming the flag and not the key.
	t.Run("bad key", func(t *testing.T) {
		var out bytes.Buffer
		err := cli.Run(context.Background(), []string{"dev", "--data-dir", t.TempDir(), "--encryption-key", "k1:" + keyB64[:20]},
			strings.NewReader(""), &out, &out)
		if err == nil || !strings.Contains(err.Error(), "--encryption-key") || strings.Contains(err.Error(), keyB64[:20]) {
			t.Errorf("bad key: %v", err)
		}
	})

	// The control: restarted without a key, hookflow writes plain payloads, and the same
	// check finds the e-mail in the raw history. The delivery log still reads the
	// history written in plain.
	t.Run("without a key the e-mail is in history", func(t *testing.T) {
		d.stop(syscall.SIGTERM, 30*time.Second)
		t.Setenv("HOOKFLOW_ENCRYPTION_KEY", "")
		d2 := startDev(t, dir, d)
		plain := d2.client(t)
		send(d2, "evt_codec_plain")
		var res workflows.DeliveryResult
		waitWorkflow(t, plain, "event/evt_codec_plain", 30*time.Second, &res)
		raw, _, _ := rawHistory(t, plain, "event/evt_codec_plain")
		if !bytes.Contains(raw, []byte(codecEmail)) {
			t.Error("without encryption the e-mail is not found in the raw history: the check above proves nothing")
		}
		if strings.Contains(d2.output.String(), "Codec endpoint") || !strings.Contains(d2.output.String(), "Encryption      off") {
			t.Errorf("banner without a key:\n%s", d2.output)
		}
	})
}
