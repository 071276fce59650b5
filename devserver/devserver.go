// Package devserver runs an embedded Temporal server, persisted in SQLite or PostgreSQL, and
// optionally the Temporal Web UI, inside the hookflow process. It serves `hookflow dev`,
// `hookflow server` and the tests.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"
)

const clusterName = "active"

// Options configure an embedded server.
type Options struct {
	// DatabaseFile is the SQLite file that keeps Temporal's state. Empty means in memory,
	// unless PostgresURL is set.
	DatabaseFile string
	// PostgresURL, when set, keeps Temporal's state in PostgreSQL instead of SQLite:
	// postgres://user:password@host:5432/temporal?sslmode=disable. The database it names
	// (default temporal) and one for visibility with "_visibility" appended are created
	// when missing, and Temporal's schema is set up in them and upgraded to this server's.
	PostgresURL string
	// HistoryShards is Temporal's number of history shards: 1 on SQLite and 16 on
	// PostgreSQL when zero. It is fixed when a database is first used; a later value is
	// ignored by the server with only a warning.
	HistoryShards int32
	// LogFile receives the server's own logs; empty means they are discarded.
	LogFile string
	// IP the frontend and UI bind to; 127.0.0.1 when empty. Temporal's internal services
	// (history, matching, worker) always bind to 127.0.0.1: nothing outside needs them.
	IP string
	// FrontendPort is Temporal's gRPC port; 0 picks a free one.
	FrontendPort int
	// UIPort is the Web UI's port; 0 means no UI.
	UIPort int
	// Namespace is created on first start; "default" when empty.
	Namespace string
	// Retention of closed workflows; 24 h when zero. A namespace that exists with another
	// retention is updated to this one.
	Retention time.Duration
	// SearchAttributes are registered on a new namespace and added to an existing one.
	SearchAttributes map[string]enumspb.IndexedValueType
	// CodecEndpoint, when set, is the remote codec (such as http://127.0.0.1:7280/codec)
	// that the Web UI decodes payloads through from the browser: hookflow's codec endpoint
	// when payloads are encrypted.
	CodecEndpoint string
	// Metrics records the server's own metrics (service requests, persistence latency,
	// task-queue backlog, ...) for Server.Metrics to gather; off, they cost nothing.
	Metrics bool
	// Codec, when set with a UI, is served on the UI's port at UICodecPath (the request's
	// path unchanged) to the UI's own pages only, and is the UI's codec endpoint in place
	// of CodecEndpoint: the browser calls it from the UI's origin and needs no key, so that
	// the UI decodes payloads even when the API requires keys. The UI server then listens
	// on a loopback port of its own, behind a front on UIPort.
	Codec http.Handler
}

// Server is a running embedded Temporal server.
type Server struct {
	opts   Options
	server temporal.Server
	// metrics gathers the server's own metrics (Options.Metrics); metricsCloser ends their
	// reporting.
	metrics       prometheus.Gatherer
	metricsCloser io.Closer
	ui            *uiserver.Server
	uiFront       *uiFront // in front of ui with a Codec
	hostPort      string
	// refreshTimer ends the forced search-attribute refresh a while after start.
	refreshTimer *time.Timer
}

// Start checks that the ports are free, prepares the database and starts the server (and
// the UI when asked). It returns once the frontend answers and the search attributes exist.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Retention == 0 {
		opts.Retention = 24 * time.Hour
	}
	// The server ends the process through a fatal log, and the UI server through os.Exit,
	// when a port is taken: check first so the user gets an error instead.
	if opts.FrontendPort == 0 {
		p, err := FreePort(opts.IP)
		if err != nil {
			return nil, err
		}
		opts.FrontendPort = p
	} else if err := CheckPort(opts.IP, opts.FrontendPort, "--temporal-port"); err != nil {
		return nil, err
	}
	if opts.UIPort != 0 {
		if err := CheckPort(opts.IP, opts.UIPort, "--ui-port"); err != nil {
			return nil, err
		}
	}

	var logger log.Logger = log.NewNoopLogger()
	if opts.LogFile != "" {
		logger = log.NewZapLogger(log.BuildZapLogger(log.Config{Level: "warn", OutputFile: opts.LogFile, Format: "json"}))
	}
	conf, err := opts.serverConfig()
	if err != nil {
		return nil, err
	}
	// isNew tells that the namespace was created with its search attributes, so they need
	// no check after start. On PostgreSQL the namespace is registered after start instead.
	isNew := false
	if opts.PostgresURL != "" {
		if err := setUpPostgres(ctx, opts.PostgresURL, conf, logger); err != nil {
			return nil, err
		}
	} else {
		if isNew, err = opts.setUpSQLite(conf); err != nil {
			return nil, err
		}
	}

	dyn := dynamicconfig.NewMemoryClient()
	// One node: a single task-queue partition keeps the backlog FIFO.
	dyn.OverrideSetting(dynamicconfig.MatchingNumTaskqueueReadPartitions, 1)
	dyn.OverrideSetting(dynamicconfig.MatchingNumTaskqueueWritePartitions, 1)
	dyn.OverrideSetting(dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance, 100)
	// The history service keeps every workflow it touched in its cache, by default up to
	// 128,000 of them for an hour. A delivery's workflow closes in its first task and is
	// not touched again, so the cache only grew the heap (and the GC's work) with closed
	// workflows: 900 MB after 12,000 events. A workflow still open (retrying, a message, an
	// ordered stream) that falls out of it is read back from the database at its next task.
	dyn.OverrideSetting(dynamicconfig.HistoryCacheHostLevelMaxSize, historyCacheSize)
	// Search attributes and a namespace added at start are visible at once: every read of
	// them goes to the database. Only while starting: on every workflow start and search
	// attribute upsert it costs two database reads (4 % and 2 % of the CPU of a delivery, on
	// the one SQLite connection everything waits on), so it ends once the caches hold them.
	endForcedRefresh := dyn.OverrideSetting(dynamicconfig.ForceSearchAttributesCacheRefreshOnRead, true)
	serverOpts := []temporal.ServerOption{
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(staticHosts(conf)),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dyn),
	}
	var gatherer prometheus.Gatherer
	var metricsCloser io.Closer
	if opts.Metrics {
		h, reg, closer := serverMetrics()
		gatherer, metricsCloser = reg, closer
		serverOpts = append(serverOpts, temporal.WithCustomMetricsHandler(h))
	}
	srv, err := temporal.NewServer(serverOpts...)
	if err != nil {
		closeMetrics(metricsCloser)
		return nil, fmt.Errorf("build Temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		closeMetrics(metricsCloser)
		return nil, fmt.Errorf("start Temporal server: %w", err)
	}
	s := &Server{opts: opts, server: srv, hostPort: net.JoinHostPort(dialIP(opts.IP), strconv.Itoa(opts.FrontendPort)),
		metrics: gatherer, metricsCloser: metricsCloser}
	added, err := s.ensureNamespace(ctx, isNew)
	if err != nil {
		s.Stop()
		return nil, err
	}
	if added {
		// What was added now reaches every service's cache within its refresh interval
		// (a minute for search attributes); until then, reads go on to the database.
		s.refreshTimer = time.AfterFunc(searchAttributesCacheRefresh, endForcedRefresh)
	} else {
		endForcedRefresh()
	}
	if opts.UIPort != 0 {
		uiIP, uiPort, codecEndpoint := opts.IP, opts.UIPort, opts.CodecEndpoint
		if opts.Codec != nil {
			// The UI server moves to a loopback port of its own; the front takes UIPort.
			uiIP = "127.0.0.1"
			if uiPort, err = FreePort(uiIP); err != nil {
				s.Stop()
				return nil, err
			}
			codecEndpoint = "http://" + net.JoinHostPort(dialIP(opts.IP), strconv.Itoa(opts.UIPort)) + UICodecPath
		}
		s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
			Host:                uiIP,
			Port:                uiPort,
			TemporalGRPCAddress: s.hostPort,
			EnableUI:            true,
			CORS:                uiconfig.CORS{CookieInsecure: true},
			HideLogs:            true,
			DisableNewsFetch:    true,
			Codec:               uiconfig.Codec{Endpoint: codecEndpoint},
		}))
		go func() { _ = s.ui.Start() }()
		// The UI server listens a moment after Start: wait, so that the address the
		// caller prints answers at once.
		uiAddr := net.JoinHostPort(dialIP(uiIP), strconv.Itoa(uiPort))
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if conn, err := net.DialTimeout("tcp", uiAddr, time.Second); err == nil {
				conn.Close()
				break
			}
		}
		if opts.Codec != nil {
			front, err := startUIFront(net.JoinHostPort(opts.IP, strconv.Itoa(opts.UIPort)), "http://"+uiAddr, opts.Codec)
			if err != nil {
				s.Stop()
				return nil, err
			}
			s.uiFront = front
		}
	}
	return s, nil
}

// HostPort is the address to reach Temporal's frontend at from this machine: its IP, or
// loopback when it listens on all addresses.
func (s *Server) HostPort() string { return s.hostPort }

// Namespace is the namespace the server was started with.
func (s *Server) Namespace() string { return s.opts.Namespace }

// UIURL is the Web UI's address, or "" when it was not started.
func (s *Server) UIURL() string {
	if s.ui == nil {
		return ""
	}
	return "http://" + net.JoinHostPort(dialIP(s.opts.IP), strconv.Itoa(s.opts.UIPort))
}

// Metrics gathers the server's own metrics; nil unless Options.Metrics.
func (s *Server) Metrics() prometheus.Gatherer { return s.metrics }

// Stop stops the UI and the server.
func (s *Server) Stop() {
	if s.refreshTimer != nil {
		s.refreshTimer.Stop()
	}
	if s.uiFront != nil {
		s.uiFront.stop()
	}
	if s.ui != nil {
		s.ui.Stop()
	}
	_ = s.server.Stop()
	closeMetrics(s.metricsCloser)
}

func closeMetrics(c io.Closer) {
	if c != nil {
		_ = c.Close()
	}
}

// searchAttributesCacheRefresh is how long the server's services may keep search
// attributes in their caches before they read them again (Temporal's cacheRefreshInterval
// of 60 s, with a margin).
const searchAttributesCacheRefresh = 65 * time.Second

// ensureNamespace waits for the frontend, registers the namespace when it was not created
// in the database before start (PostgreSQL), sets the retention of one that existed before,
// and adds any search attribute it lacks: NewNamespaceConfig applies them, and the
// retention, only when the namespace is new. added says whether it registered or added
// anything.
func (s *Server) ensureNamespace(ctx context.Context, isNew bool) (added bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: s.hostPort, Namespace: s.opts.Namespace, Logger: quietLogger{}})
	if err != nil {
		return false, fmt.Errorf("connect to embedded Temporal at %s: %w", s.hostPort, err)
	}
	defer c.Close()
	if s.opts.PostgresURL != "" {
		_, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace:                        s.opts.Namespace,
			WorkflowExecutionRetentionPeriod: durationpb.New(s.opts.Retention),
		})
		var exists *serviceerror.NamespaceAlreadyExists
		if err != nil && !errors.As(err, &exists) {
			return false, fmt.Errorf("register namespace %q: %w", s.opts.Namespace, err)
		}
		added = err == nil
	}
	if !isNew && !added {
		if err := s.ensureRetention(ctx, c); err != nil {
			return false, err
		}
	}
	if isNew || len(s.opts.SearchAttributes) == 0 {
		return added, nil
	}
	var have *operatorservice.ListSearchAttributesResponse
	// A namespace registered a moment ago may not be known to every service yet.
	err = retryNotFound(ctx, func() (err error) {
		have, err = c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.opts.Namespace})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range s.opts.SearchAttributes {
		if _, ok := have.CustomAttributes[name]; !ok {
			missing[name] = typ
		}
	}
	if len(missing) == 0 {
		return added, nil
	}
	err = retryNotFound(ctx, func() error {
		_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			Namespace: s.opts.Namespace, SearchAttributes: missing,
		})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("add search attributes: %w", err)
	}
	_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.opts.Namespace})
	return true, err
}

// ensureRetention sets the retention of an existing namespace to the one asked for when it
// has another: the retention of a namespace is set when it is created, and a later start
// with another --retention must not be silently ignored.
func (s *Server) ensureRetention(ctx context.Context, c client.Client) error {
	var ns *workflowservice.DescribeNamespaceResponse
	err := retryNotFound(ctx, func() (err error) {
		ns, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.opts.Namespace})
		return err
	})
	if err != nil {
		return fmt.Errorf("describe namespace %q: %w", s.opts.Namespace, err)
	}
	if ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() == s.opts.Retention {
		return nil
	}
	_, err = c.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
		Namespace: s.opts.Namespace,
		Config:    &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(s.opts.Retention)},
	})
	if err != nil {
		return fmt.Errorf("set the retention of namespace %q to %s: %w", s.opts.Namespace, s.opts.Retention, err)
	}
	return nil
}

// retryNotFound calls f until it succeeds, fails otherwise than with a not-found or
// unavailable error, or ctx ends.
func retryNotFound(ctx context.Context, f func() error) error {
	for {
		err := f()
		var notFound *serviceerror.NotFound
		var nsNotFound *serviceerror.NamespaceNotFound
		var unavailable *serviceerror.Unavailable
		if err == nil || !(errors.As(err, &notFound) || errors.As(err, &nsNotFound) || errors.As(err, &unavailable)) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// setUpSQLite creates the SQLite file with Temporal's schema when it does not exist, and
// the namespace with its search attributes when the database lacks it. It reports whether
// the file is new.
func (o *Options) setUpSQLite(conf *config.Config) (isNew bool, err error) {
	sqlConf := conf.Persistence.DataStores[sqliteplugin.PluginName].SQL
	isNew = o.DatabaseFile == ""
	if o.DatabaseFile != "" {
		if _, err := os.Stat(o.DatabaseFile); errors.Is(err, os.ErrNotExist) {
			isNew = true
			if err := os.MkdirAll(filepath.Dir(o.DatabaseFile), 0o700); err != nil {
				return false, fmt.Errorf("create data dir: %w", err)
			}
			if err := sqliteschema.SetupSchema(sqlConf); err != nil {
				return false, fmt.Errorf("set up Temporal schema in %s: %w", o.DatabaseFile, err)
			}
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, o.Namespace, false, o.SearchAttributes)
	if err != nil {
		return false, fmt.Errorf("namespace config: %w", err)
	}
	ns.Detail.Config.Retention = durationpb.New(o.Retention)
	if err := sqliteschema.CreateNamespaces(sqlConf, ns); err != nil {
		return false, fmt.Errorf("create namespace %q: %w", o.Namespace, err)
	}
	// After the namespace exists: which Keyword columns keep their index depends on its
	// search attributes.
	if o.DatabaseFile != "" {
		if _, err := trimVisibilityIndexes(o.DatabaseFile); err != nil {
			return false, fmt.Errorf("visibility indexes of %s: %w", o.DatabaseFile, err)
		}
	}
	return isNew, nil
}

// historyCacheSize bounds the history service's cache of workflows: twenty times the
// events a busy single node has in flight (hookflow bench: 100).
const historyCacheSize = 2048

func (o *Options) serverConfig() (*config.Config, error) {
	frontend := net.JoinHostPort(dialIP(o.IP), strconv.Itoa(o.FrontendPort))
	conf := &config.Config{}
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = "127.0.0.1"
	if o.PostgresURL != "" {
		history, visibility, err := postgresConfigs(o.PostgresURL)
		if err != nil {
			return nil, err
		}
		conf.Persistence.DefaultStore = "postgres"
		conf.Persistence.VisibilityStore = "postgres-visibility"
		conf.Persistence.NumHistoryShards = 16
		conf.Persistence.DataStores = map[string]config.DataStore{
			"postgres":            {SQL: history},
			"postgres-visibility": {SQL: visibility},
		}
	} else {
		sqlConf, err := o.sqliteConfig()
		if err != nil {
			return nil, err
		}
		conf.Persistence.DefaultStore = sqliteplugin.PluginName
		conf.Persistence.VisibilityStore = sqliteplugin.PluginName
		// SQLite serializes writers: more shards only add work.
		conf.Persistence.NumHistoryShards = 1
		conf.Persistence.DataStores = map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlConf}}
	}
	if o.HistoryShards > 0 {
		conf.Persistence.NumHistoryShards = o.HistoryShards
	}
	httpPort, err := FreePort(o.IP)
	if err != nil {
		return nil, err
	}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{clusterName: {
			Enabled:                true,
			InitialFailoverVersion: 1,
			RPCAddress:             frontend,
			HTTPAddress:            net.JoinHostPort(o.IP, strconv.Itoa(httpPort)),
		}},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		if name == "frontend" {
			svc.RPC.BindOnIP = o.IP
			svc.RPC.GRPCPort = o.FrontendPort
			svc.RPC.HTTPPort = httpPort
		} else {
			// Only the frontend is for clients; the others stay on this machine.
			svc.RPC.BindOnIP = "127.0.0.1"
			p, err := FreePort(svc.RPC.BindOnIP)
			if err != nil {
				return nil, err
			}
			svc.RPC.GRPCPort = p
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontend
	return conf, nil
}

func (o *Options) sqliteConfig() (*config.SQL, error) {
	sqlConf := &config.SQL{PluginName: sqliteplugin.PluginName, ConnectAttributes: map[string]string{}}
	if o.DatabaseFile == "" {
		sqlConf.ConnectAttributes["mode"] = "memory"
		sqlConf.ConnectAttributes["cache"] = "shared"
		p, err := FreePort(o.IP) // any unique name will do
		if err != nil {
			return nil, err
		}
		sqlConf.DatabaseName = "hookflow-" + strconv.Itoa(p)
	} else {
		sqlConf.ConnectAttributes["mode"] = "rwc"
		// Attributes that are not URI parameters become pragmas; no leading underscore.
		sqlConf.ConnectAttributes["journal_mode"] = "wal"
		sqlConf.ConnectAttributes["synchronous"] = "normal"
		sqlConf.DatabaseName = o.DatabaseFile
	}
	return sqlConf, nil
}

// dialIP is the address to reach a service bound to ip from this machine: a wildcard
// address is not one to connect to.
func dialIP(ip string) string {
	if a, err := netip.ParseAddr(ip); err == nil && a.IsUnspecified() {
		if a.Is6() {
			return "::1"
		}
		return "127.0.0.1"
	}
	return ip
}

func staticHosts(conf *config.Config) map[primitives.ServiceName]static.Hosts {
	hosts := map[primitives.ServiceName]static.Hosts{}
	for name, svc := range conf.Services {
		addr := net.JoinHostPort(dialIP(svc.RPC.BindOnIP), strconv.Itoa(svc.RPC.GRPCPort))
		hosts[primitives.ServiceName(name)] = static.SingleLocalHost(addr)
	}
	return hosts
}

// CheckPort answers a clear error when addr:port cannot be listened on; flag names the
// option that chose the port.
func CheckPort(ip string, port int, flag string) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("%s %d: port %s:%d is not free (%v); choose another with %s", flag, port, ip, port, unwrapSyscall(err), flag)
	}
	return l.Close()
}

// FreePort asks the kernel for a free TCP port on ip.
func FreePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func unwrapSyscall(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// quietLogger drops the SDK client's own logs during the readiness check.
type quietLogger struct{}

func (quietLogger) Debug(string, ...interface{}) {}
func (quietLogger) Info(string, ...interface{})  {}
func (quietLogger) Warn(string, ...interface{})  {}
func (quietLogger) Error(string, ...interface{}) {}
