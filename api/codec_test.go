package api

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hookflow/hookflow/codec"
	"github.com/hookflow/hookflow/store"
)

const uiOrigin = "http://127.0.0.1:8233"

func newCodecServer(t *testing.T, requireKeys bool) (http.Handler, *store.SQLite, *codec.Codec) {
	t.Helper()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cdc, err := codec.New(codec.Key{ID: "k1", Key: bytes.Repeat([]byte{3}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Store: st, Starter: &fakeStarter{}, RequireKeys: requireKeys}
	return s.CodecHandler(cdc, []string{uiOrigin + "/"}), st, cdc
}

func codecRequest(t *testing.T, h http.Handler, method, path, body string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func payloadsJSON(t *testing.T, ps ...*commonpb.Payload) string {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readPayloads(t *testing.T, w *httptest.ResponseRecorder) []*commonpb.Payload {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var ps commonpb.Payloads
	if err := protojson.Unmarshal(w.Body.Bytes(), &ps); err != nil {
		t.Fatalf("decode %s: %v", w.Body, err)
	}
	return ps.GetPayloads()
}

func TestCodecEndpointRoundTrip(t *testing.T) {
	h, _, cdc := newCodecServer(t, false)
	plain, err := codec.DataConverter.ToPayload(map[string]string{"email": "zoe.codec-test@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	// Encode through the endpoint, as the UI does for a signal's input.
	enc := readPayloads(t, codecRequest(t, h, "POST", "/codec/default/encode", payloadsJSON(t, plain), map[string]string{"X-Namespace": "default"}))
	if len(enc) != 1 || string(enc[0].Metadata[converter.MetadataEncoding]) != codec.MetadataEncodingEncrypted || bytes.Contains(enc[0].Data, []byte("zoe")) {
		t.Fatalf("encode answered %v", enc)
	}
	// Decode through the endpoint, as the UI does, with its query and headers.
	w := codecRequest(t, h, "POST", "/codec/decode?preserveStorageRefs=true", payloadsJSON(t, enc[0]), map[string]string{"X-Namespace": "default", "Origin": uiOrigin})
	dec := readPayloads(t, w)
	if len(dec) != 1 || string(dec[0].Data) != `{"email":"zoe.codec-test@example.com"}` || string(dec[0].Metadata["encoding"]) != "json/plain" {
		t.Errorf("decode answered %v", dec)
	}
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != uiOrigin {
		t.Errorf("Access-Control-Allow-Origin %q", got)
	}
	// What the codec itself sealed, the endpoint opens; plain payloads pass.
	sealed, _ := cdc.Encode([]*commonpb.Payload{plain})
	dec = readPayloads(t, codecRequest(t, h, "POST", "/codec/decode", payloadsJSON(t, sealed[0], plain), nil))
	if len(dec) != 2 || string(dec[0].Data) != string(plain.Data) || string(dec[1].Data) != string(plain.Data) {
		t.Errorf("decode of sealed and plain: %v", dec)
	}
	// A payload that does not open is a clear 400.
	sealed[0].Data[20] ^= 1
	if w := codecRequest(t, h, "POST", "/codec/decode", payloadsJSON(t, sealed[0]), nil); w.Code != 400 || !strings.Contains(w.Body.String(), "cannot decrypt") {
		t.Errorf("tampered: %d %s", w.Code, w.Body)
	}
}

func TestCodecEndpointCORS(t *testing.T) {
	h, _, _ := newCodecServer(t, true)
	// The preflight needs no key.
	w := codecRequest(t, h, "OPTIONS", "/codec/decode", "", map[string]string{
		"Origin": uiOrigin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace,authorization",
	})
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != uiOrigin ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight: %d %v", w.Code, w.Header())
	}
	for _, h := range []string{"Content-Type", "X-Namespace", "Authorization"} {
		if !strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), h) {
			t.Errorf("preflight does not allow %s: %q", h, w.Header().Get("Access-Control-Allow-Headers"))
		}
	}
	// Another page's origin gets nothing.
	for _, method := range []string{"OPTIONS", "POST"} {
		w = codecRequest(t, h, method, "/codec/decode", `{"payloads":[]}`, map[string]string{"Origin": "https://evil.example"})
		if w.Code != http.StatusForbidden || w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s from another origin: %d %v", method, w.Code, w.Header())
		}
	}
}

func TestCodecEndpointKeys(t *testing.T) {
	h, st, _ := newCodecServer(t, true)
	body := `{"payloads":[]}`
	if w := codecRequest(t, h, "POST", "/codec/decode", body, nil); w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("without a key: %d %s", w.Code, w.Body)
	}
	if w := codecRequest(t, h, "POST", "/codec/decode", body, map[string]string{"Authorization": "Bearer hfk_unknown"}); w.Code != http.StatusUnauthorized {
		t.Errorf("unknown key: %d %s", w.Code, w.Body)
	}
	ctx := context.Background()
	_, manage, err := st.CreateAPIKey(ctx, "ops", []string{store.ScopeManage}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, events, err := st.CreateAPIKey(ctx, "shop", []string{store.ScopeEvents}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if w := codecRequest(t, h, "POST", "/codec/decode", body, map[string]string{"Authorization": "Bearer " + events}); w.Code != http.StatusForbidden {
		t.Errorf("events key: %d %s", w.Code, w.Body)
	}
	if w := codecRequest(t, h, "POST", "/codec/default/decode", body, map[string]string{"Authorization": "Bearer " + manage}); w.Code != http.StatusOK {
		t.Errorf("manage key: %d %s", w.Code, w.Body)
	}
	// The key of the Web UI's proxy: the codec endpoint, both ways, and nothing else (the
	// API's routes refuse it: TestKeyAuthentication).
	_, codecKey, err := st.CreateAPIKey(ctx, "web ui proxy", []string{store.ScopeCodec}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"/codec/decode", "/codec/default/encode"} {
		if w := codecRequest(t, h, "POST", op, body, map[string]string{"Authorization": "Bearer " + codecKey}); w.Code != http.StatusOK {
			t.Errorf("codec key, %s: %d %s", op, w.Code, w.Body)
		}
	}
}

func TestCodecEndpointBadRequests(t *testing.T) {
	h, _, _ := newCodecServer(t, false)
	big := `{"payloads":[{"data":"` + strings.Repeat("A", MaxCodecBytes) + `"}]}`
	if w := codecRequest(t, h, "POST", "/codec/decode", big, nil); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d", w.Code)
	}
	for _, body := range []string{`{"payloads":`, `not json`, `{"payloads":[{"data":"***"}]}`} {
		if w := codecRequest(t, h, "POST", "/codec/decode", body, nil); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "invalid_request") {
			t.Errorf("malformed %q: %d %s", body, w.Code, w.Body)
		}
	}
	for _, path := range []string{"/codec/", "/codec/other", "/codec/a/b/decode"} {
		if w := codecRequest(t, h, "POST", path, `{}`, nil); w.Code != http.StatusNotFound {
			t.Errorf("POST %s: %d", path, w.Code)
		}
	}
	if w := codecRequest(t, h, "GET", "/codec/decode", "", nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", w.Code)
	}
}
