package codec

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/hookflow/hookflow/workflows"
)

func testKey(id string, fill byte) Key {
	return Key{ID: id, Key: bytes.Repeat([]byte{fill}, 32)}
}

func mustCodec(t *testing.T, keys ...Key) *Codec {
	t.Helper()
	c, err := New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func jsonPayload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := DataConverter.ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const secretEmail = "zoe.codec-test@example.com"

func TestCodecRoundTrip(t *testing.T) {
	c := mustCodec(t, testKey("k1", 1))
	in := []*commonpb.Payload{jsonPayload(t, map[string]string{"email": secretEmail}), jsonPayload(t, 42)}
	enc, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range enc {
		if got := string(p.Metadata[converter.MetadataEncoding]); got != MetadataEncodingEncrypted {
			t.Errorf("payload %d: encoding %q", i, got)
		}
		if got := string(p.Metadata[MetadataEncryptionKeyID]); got != "k1" {
			t.Errorf("payload %d: key id %q", i, got)
		}
		raw, _ := proto.Marshal(p)
		if bytes.Contains(raw, []byte("zoe.codec-test")) || bytes.Contains(raw, []byte("json/plain")) {
			t.Errorf("payload %d shows its plaintext: %q", i, raw)
		}
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if !proto.Equal(in[i], dec[i]) {
			t.Errorf("payload %d: got %v, want %v", i, dec[i], in[i])
		}
	}
}

func TestCodecNonceDiffers(t *testing.T) {
	c := mustCodec(t, testKey("k1", 1))
	p := jsonPayload(t, "same")
	a, err := c.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a[0].Data, b[0].Data) || bytes.Equal(a[0].Data[:12], b[0].Data[:12]) {
		t.Error("the same payload encrypted twice gave the same nonce or ciphertext")
	}
}

func TestCodecTamperedFails(t *testing.T) {
	c := mustCodec(t, testKey("k1", 1))
	enc, err := c.Encode([]*commonpb.Payload{jsonPayload(t, secretEmail)})
	if err != nil {
		t.Fatal(err)
	}
	for name, tamper := range map[string]func(p *commonpb.Payload){
		"flipped ciphertext byte": func(p *commonpb.Payload) { p.Data[len(p.Data)/2] ^= 1 },
		"flipped nonce byte":      func(p *commonpb.Payload) { p.Data[0] ^= 1 },
		"truncated":               func(p *commonpb.Payload) { p.Data = p.Data[:10] },
		"relabelled key id": func(p *commonpb.Payload) {
			p.Metadata[MetadataEncryptionKeyID] = []byte("k2")
		},
	} {
		t.Run(name, func(t *testing.T) {
			p := proto.Clone(enc[0]).(*commonpb.Payload)
			tamper(p)
			c2 := mustCodec(t, testKey("k1", 1), testKey("k2", 1)) // k2 has the same bytes: only the id differs
			if _, err := c2.Decode([]*commonpb.Payload{p}); !errors.Is(err, ErrDecrypt) {
				t.Errorf("decode: %v, want ErrDecrypt", err)
			}
		})
	}
}

func TestCodecWrongKeyFails(t *testing.T) {
	enc, err := mustCodec(t, testKey("k1", 1)).Encode([]*commonpb.Payload{jsonPayload(t, secretEmail)})
	if err != nil {
		t.Fatal(err)
	}
	// Another key under the same id.
	if _, err := mustCodec(t, testKey("k1", 2)).Decode(enc); !errors.Is(err, ErrDecrypt) {
		t.Errorf("other key, same id: %v, want ErrDecrypt", err)
	}
	// A key id the codec does not have: the error names it and the configured ones.
	_, err = mustCodec(t, testKey("k9", 1), testKey("k8", 1)).Decode(enc)
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `"k1"`) || !strings.Contains(err.Error(), "k9, k8") {
		t.Errorf("unknown key id: %v", err)
	}
}

func TestCodecRotation(t *testing.T) {
	old := mustCodec(t, testKey("2025", 1))
	sealedOld, err := old.Encode([]*commonpb.Payload{jsonPayload(t, "old")})
	if err != nil {
		t.Fatal(err)
	}
	rotated := mustCodec(t, testKey("2026", 2), testKey("2025", 1))
	if got := rotated.KeyIDs(); strings.Join(got, ",") != "2026,2025" {
		t.Errorf("KeyIDs %v", got)
	}
	dec, err := rotated.Decode(sealedOld)
	if err != nil {
		t.Fatalf("the old key no longer decrypts: %v", err)
	}
	var s string
	if err := DataConverter.FromPayload(dec[0], &s); err != nil || s != "old" {
		t.Errorf("decoded %q %v", s, err)
	}
	sealedNew, err := rotated.Encode([]*commonpb.Payload{jsonPayload(t, "new")})
	if err != nil {
		t.Fatal(err)
	}
	if id := string(sealedNew[0].Metadata[MetadataEncryptionKeyID]); id != "2026" {
		t.Errorf("new payloads sealed with %q, want the first key 2026", id)
	}
	if _, err := old.Decode(sealedNew); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("a process without the new key: %v, want ErrUnknownKey", err)
	}
}

func TestCodecPassesUnencrypted(t *testing.T) {
	c := mustCodec(t, testKey("k1", 1))
	plain := []*commonpb.Payload{jsonPayload(t, secretEmail), {Metadata: map[string][]byte{"encoding": []byte("binary/null")}}, {}}
	dec, err := c.Decode(plain)
	if err != nil {
		t.Fatal(err)
	}
	for i := range plain {
		if !proto.Equal(plain[i], dec[i]) {
			t.Errorf("payload %d changed: %v", i, dec[i])
		}
	}
}

func TestEncryptingDataConverter(t *testing.T) {
	dc, err := NewDataConverter(testKey("k1", 1))
	if err != nil {
		t.Fatal(err)
	}
	in := workflows.DeliveryInput{}
	in.Event.ID = "evt_1"
	in.Event.Type = "customer.order.paid"
	ps, err := dc.ToPayloads(in)
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := proto.Marshal(ps); bytes.Contains(raw, []byte("evt_1")) {
		t.Error("the encrypting converter wrote plaintext")
	}
	var out workflows.DeliveryInput
	if err := dc.FromPayloads(ps, &out); err != nil || out.Event.ID != "evt_1" {
		t.Errorf("round trip: %+v %v", out, err)
	}
	// The plain converter cannot read it; the encrypting one reads plain payloads.
	if err := DataConverter.FromPayloads(ps, &out); err == nil {
		t.Error("the plain converter read an encrypted payload")
	}
	plain, _ := DataConverter.ToPayloads(in)
	out = workflows.DeliveryInput{}
	if err := dc.FromPayloads(plain, &out); err != nil || out.Event.ID != "evt_1" {
		t.Errorf("unencrypted history through the encrypting converter: %+v %v", out, err)
	}
	if got, _ := NewDataConverter(); got != DataConverter {
		t.Error("NewDataConverter() without keys is not DataConverter")
	}
	if DataConverterFor(nil) != DataConverter {
		t.Error("DataConverterFor(nil) is not DataConverter")
	}
}

func TestParseKeys(t *testing.T) {
	k32 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	k32url := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32))
	k31 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 31))
	for _, tc := range []struct {
		name    string
		specs   []string
		ids     string
		wantErr string
	}{
		{name: "one", specs: []string{"k1:" + k32}, ids: "k1"},
		{name: "two, comma separated, spaces", specs: []string{" new:" + k32 + " , old:" + k32url + ","}, ids: "new,old"},
		{name: "two items", specs: []string{"a:" + k32, "b:" + k32}, ids: "a,b"},
		{name: "none", specs: []string{""}, ids: ""},
		{name: "no id", specs: []string{k32}, wantErr: "key 1: want id:base64"},
		{name: "empty id", specs: []string{":" + k32}, wantErr: "key 1: want id:base64"},
		{name: "bad id", specs: []string{"k 1:" + k32}, wantErr: `key 1: the id "k 1"`},
		{name: "wrong length", specs: []string{"k1:" + k32 + ",k2:" + k31}, wantErr: `key 2 (id "k2"): 31 bytes, want 32`},
		{name: "bad base64", specs: []string{"k1:not*base64!"}, wantErr: `key 1 (id "k1"): not base64`},
		{name: "duplicate id", specs: []string{"k1:" + k32, "k1:" + k32url}, wantErr: `key 2: the id "k1" is used twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := ParseKeys("--encryption-key", tc.specs...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "--encryption-key: ") {
					t.Fatalf("err %v, want one naming --encryption-key and %q", err, tc.wantErr)
				}
				for _, s := range tc.specs {
					for _, part := range strings.Split(s, ",") {
						if _, m, ok := strings.Cut(part, ":"); ok && len(m) > 8 && strings.Contains(err.Error(), m) {
							t.Errorf("the error shows key material: %v", err)
						}
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, k := range keys {
				ids = append(ids, k.ID)
				if len(k.Key) != 32 {
					t.Errorf("key %s: %d bytes", k.ID, len(k.Key))
				}
				if strings.Contains(k.String(), k32) || k.String() != k.ID+":<redacted>" {
					t.Errorf("String() = %q", k.String())
				}
			}
			if strings.Join(ids, ",") != tc.ids {
				t.Errorf("ids %v, want %s", ids, tc.ids)
			}
		})
	}
	if _, err := New(); err == nil || !strings.Contains(err.Error(), "no encryption key") {
		t.Errorf("New(): %v", err)
	}
	if _, err := New(Key{ID: "short", Key: []byte("x")}); err == nil || !strings.Contains(err.Error(), "want 32") {
		t.Errorf("New(short key): %v", err)
	}
}

func TestFailureConverterEncryptsDetails(t *testing.T) {
	c := mustCodec(t, testKey("k1", 1))
	fc := FailureConverterFor(c)
	f := fc.ErrorToFailure(temporal.NewApplicationErrorWithOptions("answered 503", "retryable", temporal.ApplicationErrorOptions{
		Details: []any{map[string]string{"email": secretEmail}},
	}))
	raw, _ := proto.Marshal(f)
	if bytes.Contains(raw, []byte(secretEmail)) || !bytes.Contains(raw, []byte(MetadataEncodingEncrypted)) {
		t.Errorf("failure details not encrypted: %q", raw)
	}
	var appErr *temporal.ApplicationError
	if err := fc.FailureToError(f); !errors.As(err, &appErr) {
		t.Fatalf("back to an error: %v", err)
	}
	var details map[string]string
	if err := appErr.Details(&details); err != nil || details["email"] != secretEmail || appErr.Message() != "answered 503" {
		t.Errorf("details %v %v, message %q", details, err, appErr.Message())
	}
	if FailureConverterFor(nil) != nil || FailureConverterFor((*Codec)(nil)) != nil {
		t.Error("FailureConverterFor(nil) is not nil")
	}
}
