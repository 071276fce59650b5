package devserver

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
)

// TestSearchAttributesOnExistingDatabase starts a server on a new database without search
// attributes, then again on the same file with them: they must be added, since
// NewNamespaceConfig applies them only when the namespace is created.
func TestSearchAttributesOnExistingDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal")
	}
	db := filepath.Join(t.TempDir(), "temporal.db")
	ctx := context.Background()
	s, err := Start(ctx, Options{DatabaseFile: db})
	if err != nil {
		t.Fatal(err)
	}
	s.Stop()

	want := map[string]enumspb.IndexedValueType{
		"HookflowTestKeyword": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"HookflowTestList":    enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
	}
	s, err = Start(ctx, Options{DatabaseFile: db, SearchAttributes: want})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	c, err := client.Dial(client.Options{HostPort: s.HostPort(), Namespace: s.Namespace(), Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range want {
		if got.CustomAttributes[name] != typ {
			t.Errorf("search attribute %s: %v, want %v", name, got.CustomAttributes[name], typ)
		}
	}
}

func TestTakenPortIsAnError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = Start(context.Background(), Options{FrontendPort: port})
	if err == nil || !strings.Contains(err.Error(), "--temporal-port") || !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Errorf("frontend port taken: %v", err)
	}
	_, err = Start(context.Background(), Options{UIPort: port})
	if err == nil || !strings.Contains(err.Error(), "--ui-port") {
		t.Errorf("UI port taken: %v", err)
	}
}
