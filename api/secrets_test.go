package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/store"
)

// secretsAPI is an API on its own store with a clock the test moves and a log it reads.
type secretsAPI struct {
	url   string
	store *store.SQLite
	now   time.Time
	log   *bytes.Buffer
}

func newSecretsAPI(t *testing.T) *secretsAPI {
	t.Helper()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := &secretsAPI{store: st, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), log: &bytes.Buffer{}}
	logger := slog.New(slog.NewTextHandler(a.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer((&Server{Store: st, Starter: &fakeStarter{}, Logger: logger, Now: func() time.Time { return a.now }}).Handler())
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

func (a *secretsAPI) secrets(t *testing.T, method, path, body string) Secrets {
	t.Helper()
	status, _, b := doWith(t, method, a.url+path, "application/json", body)
	if status != http.StatusOK {
		t.Fatalf("%s %s %s: %d %s", method, path, body, status, b)
	}
	var s Secrets
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// signing is what signs webhook-signature at the API's time.
func (a *secretsAPI) signing(t *testing.T) []string {
	t.Helper()
	p, err := a.store.Project(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return p.SigningSecrets(a.now)
}

// TestRotateSecret: a rotation makes a new current secret and keeps the old one signing
// until expire (24h without one); GET /v1/secrets shows the new one and the old one's
// expiry, never the old value; after the expiry only the new one signs. No secret is
// ever logged.
func TestRotateSecret(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		overlap    time.Duration
	}{
		{"no body", "", 24 * time.Hour},
		{"no expire", `{}`, 24 * time.Hour},
		{"expire 90m", `{"expire":"90m"}`, 90 * time.Minute},
		{"expire 0s", `{"expire":"0s"}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newSecretsAPI(t)
			before := a.secrets(t, "GET", "/v1/secrets", "")
			old := before.Current
			if !strings.HasPrefix(old, "whsec_") || len(before.Previous) != 0 {
				t.Fatalf("before rotation: %+v", before)
			}
			rotated := a.secrets(t, "POST", "/v1/secrets/rotate", tc.body)
			if rotated.Current == old || !strings.HasPrefix(rotated.Current, "whsec_") {
				t.Fatalf("rotation kept the secret: %+v", rotated)
			}
			shown := a.secrets(t, "GET", "/v1/secrets", "")
			want := []SecretValidity{{a.now.Add(tc.overlap)}}
			if tc.overlap == 0 {
				want = []SecretValidity{}
			}
			for what, s := range map[string]Secrets{"rotate": rotated, "get": shown} {
				if s.Current != rotated.Current || !slices.EqualFunc(s.Previous, want, func(a, b SecretValidity) bool { return a.ExpiresAt.Equal(b.ExpiresAt) }) {
					t.Errorf("%s answered %+v, want previous %v", what, s, want)
				}
			}
			if got := a.signing(t); tc.overlap > 0 && !slices.Equal(got, []string{rotated.Current, old}) {
				t.Errorf("signing during the overlap: %v, want the new and the old secret", got)
			}

			a.now = a.now.Add(tc.overlap)
			if got := a.signing(t); !slices.Equal(got, []string{rotated.Current}) {
				t.Errorf("signing once the old secret expired: %v, want the new one alone", got)
			}
			if s := a.secrets(t, "GET", "/v1/secrets", ""); len(s.Previous) != 0 {
				t.Errorf("after the expiry GET shows %+v", s)
			}

			_, _, getBody := doWith(t, "GET", a.url+"/v1/secrets", "", "")
			if strings.Contains(string(getBody), old) {
				t.Errorf("GET /v1/secrets shows the old secret: %s", getBody)
			}
			log := a.log.String()
			if !strings.Contains(log, "signing secret rotated") {
				t.Fatalf("the rotation is not logged, so the check below could not fail: %s", log)
			}
			for _, s := range []string{old, rotated.Current} {
				if strings.Contains(log, strings.TrimPrefix(s, "whsec_")) {
					t.Errorf("a secret is in the log: %s", log)
				}
			}
		})
	}
}

// TestRotateSecretBadInput: what is not a rotation request is refused, naming the field
// at fault, and the secret stays as it was.
func TestRotateSecretBadInput(t *testing.T) {
	a := newSecretsAPI(t)
	current := a.secrets(t, "GET", "/v1/secrets", "").Current
	for _, tc := range []struct {
		name, body string
		status     int
		field      string
		says       string
	}{
		{"malformed JSON", `{"expire":`, 400, "", "invalid JSON"},
		{"not an object", `["24h"]`, 400, "", ""},
		{"data after the object", `{"expire":"1h"} {}`, 400, "", "data after the object"},
		{"unknown field", `{"expire":"1h","expiry":"2h"}`, 400, "expiry", "unknown field"},
		{"expire a number", `{"expire":3600}`, 400, "expire", ""},
		{"expire unparsable", `{"expire":"soon"}`, 400, "expire", `"soon"`},
		{"expire empty", `{"expire":""}`, 400, "expire", ""},
		{"expire negative", `{"expire":"-1h"}`, 422, "expire", "-1h0m0s"},
		{"expire too long", `{"expire":"721h"}`, 422, "expire", "720h0m0s"},
		{"oversized body", `{"expire":"1h","pad":"` + strings.Repeat("x", 5<<10) + `"}`, 413, "", "larger than 4096 bytes"},
	} {
		status, e, body := doWith(t, "POST", a.url+"/v1/secrets/rotate", "application/json", tc.body)
		if status != tc.status || e.Field != tc.field || !strings.Contains(e.Message, tc.says) {
			t.Errorf("%s: %d %s; want %d naming field %q and saying %q", tc.name, status, body, tc.status, tc.field, tc.says)
		}
		if tc.field != "" && !strings.HasPrefix(e.Message, tc.field+": ") {
			t.Errorf("%s: the message %q does not start with the field", tc.name, e.Message)
		}
	}
	if s := a.secrets(t, "GET", "/v1/secrets", ""); s.Current != current || len(s.Previous) != 0 {
		t.Errorf("refused rotations changed the secrets: %+v", s)
	}
}
