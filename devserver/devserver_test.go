package devserver

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to read the test database
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/internal/pgtest"
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

// TestRetentionOnExistingDatabase starts a server on a new SQLite database with the default
// retention, then again on the same file with another: the namespace must take it, since
// NewNamespaceConfig sets it only when the namespace is created. A third start with the
// same retention keeps it.
func TestRetentionOnExistingDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal")
	}
	db := filepath.Join(t.TempDir(), "temporal.db")
	for run, retention := range []time.Duration{0, 72 * time.Hour, 72 * time.Hour} {
		s, err := Start(t.Context(), Options{DatabaseFile: db, Retention: retention})
		if err != nil {
			t.Fatalf("start %d: %v", run, err)
		}
		want := retention
		if want == 0 {
			want = 24 * time.Hour
		}
		c, err := client.Dial(client.Options{HostPort: s.HostPort(), Namespace: s.Namespace(), Logger: quietLogger{}})
		if err != nil {
			s.Stop()
			t.Fatal(err)
		}
		ns, err := c.WorkflowService().DescribeNamespace(t.Context(), &workflowservice.DescribeNamespaceRequest{Namespace: s.Namespace()})
		if err != nil {
			t.Errorf("start %d: %v", run, err)
		} else if got := ns.Config.WorkflowExecutionRetentionTtl.AsDuration(); got != want {
			t.Errorf("start %d with retention %s: the namespace keeps closed workflows %s, want %s", run, retention, got, want)
		}
		c.Close()
		s.Stop()
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

// TestPostgres runs the server on a new PostgreSQL database (HOOKFLOW_TEST_POSTGRES_DSN),
// then again on the same one: the first start creates the databases, the schema at this
// server's version, the namespace and its search attributes; the second finds them all
// and must work the same, but with another retention, which the namespace must take. A
// workflow with a search attribute runs each time.
func TestPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	if testing.Short() {
		t.Skip("starts Temporal")
	}
	// The server creates both databases.
	name := pgtest.Name("hookflow_devserver")
	pgtest.DropAtCleanup(t, dsn, name, name+VisibilitySuffix)
	temporalURL := pgtest.WithDatabase(t, dsn, name)
	want := map[string]enumspb.IndexedValueType{
		"HookflowTestKeyword": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"HookflowTestList":    enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
	}
	for run, retention := range []time.Duration{48 * time.Hour, 72 * time.Hour} {
		s, err := Start(t.Context(), Options{PostgresURL: temporalURL, SearchAttributes: want, Retention: retention})
		if err != nil {
			t.Fatalf("start %d: %v", run, err)
		}
		c, err := client.Dial(client.Options{HostPort: s.HostPort(), Namespace: s.Namespace(), Logger: quietLogger{}})
		if err != nil {
			s.Stop()
			t.Fatal(err)
		}
		got, err := c.OperatorService().ListSearchAttributes(t.Context(), &operatorservice.ListSearchAttributesRequest{Namespace: s.Namespace()})
		if err != nil {
			t.Error(err)
		} else {
			for name, typ := range want {
				if got.CustomAttributes[name] != typ {
					t.Errorf("start %d: search attribute %s: %v, want %v", run, name, got.CustomAttributes[name], typ)
				}
			}
		}
		ns, err := c.WorkflowService().DescribeNamespace(t.Context(), &workflowservice.DescribeNamespaceRequest{Namespace: s.Namespace()})
		if err != nil || ns.Config.WorkflowExecutionRetentionTtl.AsDuration() != retention {
			t.Errorf("start %d: namespace %v, %v; want retention %s", run, ns, err, retention)
		}
		runWorkflow(t, c, fmt.Sprintf("wf-%d", run))
		c.Close()
		s.Stop()
	}

	db, err := sql.Open("pgx", temporalURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var shards int
	if err := db.QueryRow("SELECT COUNT(*) FROM shards").Scan(&shards); err != nil || shards != 16 {
		t.Errorf("%d shards (%v), want 16", shards, err)
	}
	var version string
	if err := db.QueryRow("SELECT curr_version FROM schema_version WHERE db_name = $1", name).Scan(&version); err != nil || version == "0.0" {
		t.Errorf("schema version %q (%v), want the latest", version, err)
	}
}

// runWorkflow runs a workflow that upserts a search attribute, on a worker of its own,
// and waits for visibility to list it by that attribute.
func runWorkflow(t *testing.T, c client.Client, id string) {
	t.Helper()
	key := temporal.NewSearchAttributeKeyKeyword("HookflowTestKeyword")
	wf := func(ctx workflow.Context) (string, error) {
		return "ok", workflow.UpsertTypedSearchAttributes(ctx, key.ValueSet(id))
	}
	w := worker.New(c, "devserver-test", worker.Options{})
	w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "test"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "devserver-test"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(ctx, &out); err != nil || out != "ok" {
		t.Fatalf("workflow %s: %q, %v", id, out, err)
	}
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("HookflowTestKeyword = %q", id)})
		if err == nil && len(resp.Executions) == 1 {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("workflow %s not listed by its search attribute: %v", id, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
