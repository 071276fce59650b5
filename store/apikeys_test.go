package store

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// testAPIKeys goes through an API key's life: created with its key shown once, listed
// and looked up by hash without the key, marked used, revoked.
func testAPIKeys(t *testing.T, s Store) {
	ctx := t.Context()
	if keys, err := s.ListAPIKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("new store lists keys %+v %v", keys, err)
	}
	manager, managerKey, err := s.CreateFirstAPIKey(ctx, "ops", []string{ScopeManage, ScopeEvents, ScopeManage}, baseTime)
	if err != nil {
		t.Fatal(err)
	}
	checkAPIKey(t, manager, managerKey)
	if !reflect.DeepEqual(manager.Scopes, []string{ScopeEvents, ScopeManage}) {
		t.Errorf("scopes %v, want them once each in the order of Scopes", manager.Scopes)
	}
	if _, _, err := s.CreateFirstAPIKey(ctx, "second first", []string{ScopeManage}, baseTime); !errors.Is(err, ErrAPIKeysExist) {
		t.Errorf("a second first key: %v, want ErrAPIKeysExist", err)
	}
	sender, senderKey, err := s.CreateAPIKey(ctx, "shop backend", []string{ScopeEvents}, baseTime.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	checkAPIKey(t, sender, senderKey)
	if sender.ID == manager.ID || senderKey == managerKey || sender.Prefix == manager.Prefix {
		t.Errorf("two keys alike: %+v %+v", manager, sender)
	}
	for _, bad := range [][]string{nil, {}, {"admin"}, {ScopeEvents, "Events"}} {
		if _, _, err := s.CreateAPIKey(ctx, "bad", bad, baseTime); err == nil {
			t.Errorf("scopes %q accepted", bad)
		}
	}

	keys, err := s.ListAPIKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].ID != manager.ID || keys[1].ID != sender.ID {
		t.Fatalf("list %+v %v, want the manager then the sender", keys, err)
	}
	if !reflect.DeepEqual(keys[0], manager) || !reflect.DeepEqual(keys[1], sender) {
		t.Errorf("listed %+v\nand %+v\ncreated %+v\nand %+v", keys[0], keys[1], manager, sender)
	}
	doc, _ := json.Marshal(keys)
	for _, secret := range []string{managerKey, senderKey, managerKey[len(manager.Prefix):], "hash"} {
		if strings.Contains(string(doc), secret) {
			t.Errorf("listed keys show %q: %s", secret, doc)
		}
	}

	got, err := s.APIKeyByHash(ctx, HashAPIKey(senderKey))
	if err != nil || !reflect.DeepEqual(got, sender) {
		t.Errorf("by hash: %+v %v, want %+v", got, err, sender)
	}
	for _, wrong := range []string{"", "hfk_", senderKey + "x", senderKey[:len(senderKey)-1], strings.ToUpper(senderKey)} {
		if _, err := s.APIKeyByHash(ctx, HashAPIKey(wrong)); !errors.Is(err, ErrNotFound) {
			t.Errorf("key %q: %v, want ErrNotFound", wrong, err)
		}
	}

	used := baseTime.Add(time.Hour + 1500*time.Nanosecond)
	if err := s.MarkAPIKeyUsed(ctx, sender.ID, used); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.APIKeyByHash(ctx, HashAPIKey(senderKey)); got.LastUsedAt == nil || !got.LastUsedAt.Equal(used.Truncate(time.Microsecond)) {
		t.Errorf("last used %v, want %v", got.LastUsedAt, used)
	}
	if err := s.MarkAPIKeyUsed(ctx, "key_missing", used); !errors.Is(err, ErrNotFound) {
		t.Errorf("mark a missing key: %v", err)
	}

	if err := s.RevokeAPIKey(ctx, manager.ID); !errors.Is(err, ErrLastManageKey) {
		t.Errorf("revoke the last manage key: %v, want ErrLastManageKey", err)
	}
	if err := s.RevokeAPIKey(ctx, sender.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.APIKeyByHash(ctx, HashAPIKey(senderKey)); !errors.Is(err, ErrNotFound) {
		t.Errorf("a revoked key is still found: %v", err)
	}
	if err := s.RevokeAPIKey(ctx, sender.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke twice: %v, want ErrNotFound", err)
	}
	second, _, err := s.CreateAPIKey(ctx, "ops 2", []string{ScopeManage}, baseTime)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, manager.ID); err != nil {
		t.Errorf("revoke a manage key while another exists: %v", err)
	}
	if keys, _ := s.ListAPIKeys(ctx); len(keys) != 1 || keys[0].ID != second.ID {
		t.Errorf("after revoking: %+v", keys)
	}
}

// checkAPIKey checks a new key and its record: the key is hfk_ and 32 random bytes, the
// record shows only its start and keeps only its hash.
func checkAPIKey(t *testing.T, k APIKey, key string) {
	t.Helper()
	random, ok := strings.CutPrefix(key, APIKeyPrefix)
	if b, err := base64.RawURLEncoding.DecodeString(random); !ok || err != nil || len(b) != 32 {
		t.Errorf("key %q is not hfk_ and 32 bytes in base64url: %v", key, err)
	}
	if !strings.HasPrefix(k.ID, "key_") || k.Prefix != key[:len(APIKeyPrefix)+6] || k.LastUsedAt != nil {
		t.Errorf("record %+v of key %q", k, key)
	}
	if !reflect.DeepEqual(k.Hash, HashAPIKey(key)) {
		t.Errorf("hash %x, want the SHA-256 of the key", k.Hash)
	}
}

// testFirstAPIKeyConcurrent creates the first key from several stores (processes) at once:
// one gets it, the others ErrAPIKeysExist.
func testFirstAPIKeyConcurrent(t *testing.T, open opener) {
	const n = 6
	stores := make([]Store, n)
	for i := range stores {
		stores[i] = mustOpen(t, open)
	}
	errs := make([]error, n)
	race(n, func(i int) {
		_, _, errs[i] = stores[i].CreateFirstAPIKey(t.Context(), "first", []string{ScopeManage}, baseTime)
	})
	created := 0
	for _, err := range errs {
		switch {
		case err == nil:
			created++
		case !errors.Is(err, ErrAPIKeysExist):
			t.Errorf("unexpected error: %v", err)
		}
	}
	keys, err := stores[0].ListAPIKeys(t.Context())
	if created != 1 || err != nil || len(keys) != 1 {
		t.Errorf("%d created, %d stored (%v), want 1", created, len(keys), err)
	}
}

// testRevokeManageKeysConcurrent revokes the two manage keys from two stores at once: one
// revocation must fail, so that a manage key is left.
func testRevokeManageKeysConcurrent(t *testing.T, open opener) {
	a, b := mustOpen(t, open), mustOpen(t, open)
	var ids []string
	for range 2 {
		k, _, err := a.CreateAPIKey(t.Context(), "ops", []string{ScopeManage}, baseTime)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, k.ID)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, s := range []Store{a, b} {
		wg.Go(func() { errs[i] = s.RevokeAPIKey(t.Context(), ids[i]) })
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), ErrLastManageKey) {
		t.Errorf("revocations: %v, want one nil and one ErrLastManageKey", errs)
	}
	if keys, _ := a.ListAPIKeys(t.Context()); len(keys) != 1 {
		t.Errorf("%d keys left, want 1", len(keys))
	}
}
