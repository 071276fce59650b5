package cli

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/app"
	"github.com/hookflow/hookflow/client"
	"github.com/hookflow/hookflow/distributions"
)

// globalFlags are the flags of every command that talks to a running hookflow, and -o.
// Their variables (HOOKFLOW_API, HOOKFLOW_API_KEY) are read when a command runs, not as
// the flags' defaults, so that --help never prints a key.
type globalFlags struct {
	api    string
	apiKey string
	output string
	getenv func(string) string
	// idempotencyKey is --idempotency-key, of the commands that create or send.
	idempotencyKey string
}

func (g *globalFlags) register(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&g.api, "api", "http://"+app.DefaultAPIAddr, "hookflow API base URL (env HOOKFLOW_API)")
	f.StringVar(&g.apiKey, "api-key", "", "API key (env HOOKFLOW_API_KEY)")
	f.StringVarP(&g.output, "output", "o", formatText, "output format: "+strings.Join(formats, ", "))
}

// idempotencyFlag gives cmd, whose one POST creates or sends, --idempotency-key.
func (g *globalFlags) idempotencyFlag(cmd *cobra.Command) {
	cmd.Flags().StringVar(&g.idempotencyKey, "idempotency-key", "",
		"the request's Idempotency-Key: run the command again with the same key and the same input for the first run's answer, without doing it twice (default: a new key, kept across the command's own retries)")
}

// resolve is run before every command: it takes the variables of the flags not given, and
// refuses an -o that the command cannot honour.
func (g *globalFlags) resolve(cmd *cobra.Command) error {
	flags := cmd.Flags()
	if f := flags.Lookup("api"); f != nil && !f.Changed {
		if v := g.getenv("HOOKFLOW_API"); v != "" {
			g.api = v
		}
	}
	if f := flags.Lookup("api-key"); f != nil && !f.Changed {
		g.apiKey = g.getenv("HOOKFLOW_API_KEY")
	}
	if !slices.Contains(formats, g.output) {
		return fmt.Errorf("--output %q: use %s", g.output, strings.Join(formats, ", "))
	}
	if f := flags.Lookup("output"); f != nil && f.Changed && cmd.Annotations[noOutputAnnotation] != "" {
		return fmt.Errorf("--output: %s prints no data to format; leave -o out", cmd.CommandPath())
	}
	return nil
}

// printer prints to cmd's standard output in the format of -o.
func (g *globalFlags) printer(cmd *cobra.Command) printer {
	return printer{format: g.output, out: cmd.OutOrStdout()}
}

// apiClient calls the hookflow API, through the Go client of package client, and prints
// what it answers. Its methods are the commands' short forms of the client's: paths with
// their query, JSON bodies as bytes, and the client's errors made the CLI's (apiError,
// unreachableError, and the advice of --idempotency-key).
type apiClient struct {
	printer
	base string
	key  string
	http *http.Client
	// idempotencyKey is --idempotency-key, the key of the command's one creating POST;
	// empty, each creating POST gets a new one.
	idempotencyKey string
	// retryWait is the first wait before a creating POST is sent again; it doubles.
	retryWait time.Duration
	// ctx is the command's context; nil is context.Background().
	ctx context.Context
	// api is the client of base, key and http; made on first use when nil.
	api *client.Client
}

func (g *globalFlags) client(cmd *cobra.Command) (*apiClient, error) {
	u, err := url.Parse(g.api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--api %q: want a URL such as http://%s", g.api, app.DefaultAPIAddr)
	}
	if err := checkIdempotencyKey(g.idempotencyKey); err != nil {
		return nil, err
	}
	c := &apiClient{
		printer: g.printer(cmd),
		base:    strings.TrimRight(g.api, "/"), key: g.apiKey,
		http:           &http.Client{Timeout: 30 * time.Second},
		idempotencyKey: g.idempotencyKey,
		retryWait:      500 * time.Millisecond,
		ctx:            cmd.Context(),
	}
	if c.api, err = c.newClient(c.http); err != nil {
		return nil, fmt.Errorf("--api %q: %w", g.api, err)
	}
	return c, nil
}

// newClient is a client of c's API through hc.
func (c *apiClient) newClient(hc *http.Client) (*client.Client, error) {
	opts := []client.Option{client.WithAPIKey(c.key), client.WithHTTPClient(hc),
		client.WithUserAgent("hookflow-cli/" + app.Version()), client.WithKeyPrefix(cliKeyPrefix)}
	if c.retryWait > 0 {
		opts = append(opts, client.WithRetryWait(c.retryWait))
	}
	return client.New(c.base, opts...)
}

// client is c's client of the API, made on first use for an apiClient made without one.
func (c *apiClient) client() (*client.Client, error) {
	if c.api == nil {
		cl, err := c.newClient(c.http)
		if err != nil {
			return nil, err
		}
		c.api = cl
	}
	return c.api, nil
}

func (c *apiClient) context() context.Context {
	if c.ctx == nil {
		return context.Background()
	}
	return c.ctx
}

// do sends a request with a JSON body (or none) and decodes a 2xx JSON answer into v (when
// not nil; a *json.RawMessage takes the answer as it is). Numbers decoded into an any are
// json.Number, so they keep their digits. A non-2xx answer becomes an error with the API's
// message.
func (c *apiClient) do(method, path string, body []byte, v any) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	return c.send(cl, client.Request{Method: method, Path: path, Body: body}, v)
}

// jsonBody is v as the JSON body of a request: the user's strings and JSON (a
// json.RawMessage within v) as they gave them, compacted, with no HTML escaping of <, >
// and & (json.Marshal would send them as \u003c..., even inside a RawMessage); see
// docs/decisions.md.
func jsonBody(v any) ([]byte, error) { return marshal(v) }

// upload is do for a large body of any content type (a file of codes or customers), with
// time enough to send and store it.
func (c *apiClient) upload(method, path, contentType string, body []byte, v any) error {
	cl, err := c.longClient()
	if err != nil {
		return err
	}
	return c.send(cl, client.Request{Method: method, Path: path, Body: body, ContentType: contentType}, v)
}

// longClient is c's client with a timeout long enough for a large body.
func (c *apiClient) longClient() (*client.Client, error) {
	hc := *c.http
	hc.Timeout = 10 * time.Minute
	return c.newClient(&hc)
}

// create is do for a POST that creates or sends (an event, a distribution, a message, a
// resend, ...): it carries an Idempotency-Key, --idempotency-key or a new one, and is sent
// again under that key when its answer is lost, so that the work is done once whatever
// happens to the answer (client.Client.Send says when).
func (c *apiClient) create(path string, body []byte, v any) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	return c.sendOnce(cl, path, "application/json", body, v)
}

// createUpload is create for a large body of any content type (a message's customers).
func (c *apiClient) createUpload(path, contentType string, body []byte, v any) error {
	cl, err := c.longClient()
	if err != nil {
		return err
	}
	return c.sendOnce(cl, path, contentType, body, v)
}

// createAttempts is how many times a creating POST is sent at most.
const createAttempts = client.CreateAttempts

// cliKeyPrefix starts the Idempotency-Keys the CLI makes up.
const cliKeyPrefix = "hookflow-cli-"

// sendOnce POSTs body under an Idempotency-Key (--idempotency-key or a new one), sent
// again under it when the answer may be lost; after the last attempt, the error says to
// run the command again with the key.
func (c *apiClient) sendOnce(cl *client.Client, path, contentType string, body []byte, v any) error {
	key := c.idempotencyKey
	if key == "" {
		key = newIdempotencyKey()
	}
	return c.send(cl, client.Request{Method: http.MethodPost, Path: path, Body: body, ContentType: contentType,
		IdempotencyKey: key, Idempotent: true}, v)
}

// send sends req through cl and makes its error the CLI's.
func (c *apiClient) send(cl *client.Client, req client.Request, v any) error {
	return c.cliError(cl.Send(c.context(), req, v))
}

// cliError is err of the client as the CLI says it: a refusal of the API an *apiError, no
// answer an *unreachableError, a creating request never answered with the flag to send it
// again with.
func (c *apiClient) cliError(err error) error {
	var ie *client.IncompleteError
	if errors.As(err, &ie) {
		return fmt.Errorf("%w\n  it may have been done: send it again with --idempotency-key %s to get its answer without doing it twice", c.cliError(ie.Err), ie.Key)
	}
	var ce *client.Error
	if errors.As(err, &ce) {
		return apiErrorOf(ce)
	}
	var na *client.NoAnswerError
	if errors.As(err, &na) {
		return &unreachableError{base: c.base, err: na.Err}
	}
	return err
}

// newIdempotencyKey is a random key (128 bits and more, base32) for a creating POST.
func newIdempotencyKey() string {
	return cliKeyPrefix + rand.Text()
}

// checkIdempotencyKey refuses an --idempotency-key that the API would refuse, before
// anything is sent.
func checkIdempotencyKey(key string) error {
	if key == "" {
		return nil
	}
	if len(key) > api.MaxIdempotencyKeyLength || strings.ContainsFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		return fmt.Errorf("--idempotency-key: 1 to %d printable ASCII characters without spaces, such as a UUID", api.MaxIdempotencyKeyLength)
	}
	return nil
}

// unreachableError is a request that got no answer.
type unreachableError struct {
	base string
	err  error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach hookflow at %s (is `hookflow dev` running? set --api): %v", e.base, e.err)
}

func (e *unreachableError) Unwrap() error { return e.err }

// apiErrorOf is the client's error as the CLI's apiError.
func apiErrorOf(e *client.Error) *apiError {
	d := api.ErrorDetail{Type: e.Type, Message: e.Message, Field: e.Field, RequestID: e.RequestID}
	for _, p := range e.Problems {
		d.Problems = append(d.Problems, distributions.Problem{Field: p.Field, Message: p.Message})
	}
	if d.Type == "" && d.Message == "" {
		d.Message = e.Error()
	}
	return &apiError{status: e.StatusCode, detail: d, retryAfter: e.RetryAfter}
}

// apiError is an answer of the API that is not 2xx, with what the API said of it.
type apiError struct {
	status int
	detail api.ErrorDetail
	// retryAfter is the answer's Retry-After, 0 when it had none.
	retryAfter time.Duration
}

func (e *apiError) Error() string {
	if e.detail.Type == "" { // not the API's error body: a proxy's, say
		return e.detail.Message
	}
	if len(e.detail.Problems) > 1 {
		var b strings.Builder
		fmt.Fprintf(&b, "%d %s:", e.status, e.detail.Type)
		for _, p := range e.detail.Problems {
			fmt.Fprintf(&b, "\n  %s: %s", p.Field, p.Message)
		}
		return b.String()
	}
	return fmt.Sprintf("%d %s: %s", e.status, e.detail.Type, e.detail.Message)
}

// problems lists what is wrong, a line each, each starting with its field when one is
// known.
func (e *apiError) problems() []string {
	var out []string
	for _, p := range e.detail.Problems {
		out = append(out, strings.TrimPrefix(p.Field+": "+p.Message, ": "))
	}
	if len(out) > 0 {
		return out
	}
	msg := e.detail.Message
	if f := e.detail.Field; f != "" && !strings.HasPrefix(msg, f+": ") && !strings.HasPrefix(msg, f+" ") {
		msg = f + ": " + msg
	}
	return []string{msg}
}

// namingFlag puts the flag in front of an error of the API about a field that the flag
// set, so that the user reads what they typed: flags maps a field (and the fields under
// it, as data.order under data) to its flag.
func namingFlag(err error, flags map[string]string) error {
	var ae *apiError
	if !errors.As(err, &ae) || ae.detail.Field == "" {
		return err
	}
	field := ae.detail.Field
	if i := strings.IndexAny(field, ".["); i > 0 {
		field = field[:i]
	}
	if flag, ok := flags[field]; ok {
		return fmt.Errorf("%s: %w", flag, err)
	}
	return err
}

// putEdited changes the resource at path: it reads it, replaces it with the document of
// file or, without a file, lets edit change it, and PUTs the result, decoding the answer
// into out. The field revision is what the API checks a change against: a file that names
// one keeps it, so that a file read before someone else's change is refused (409), not
// written over theirs; a file without one, and edit, change the current revision. sent is
// the revision the PUT named.
func (c *apiClient) putEdited(cmd *cobra.Command, path, revision, file string, edit func(map[string]any), out any) (sent any, err error) {
	var current map[string]any
	if err := c.do(http.MethodGet, path, nil, &current); err != nil {
		return nil, err
	}
	next := current
	if file != "" {
		doc, err := readDocument(cmd, file)
		if err != nil {
			return nil, err
		}
		next = doc
		if next[revision] == nil {
			next[revision] = current[revision]
		}
	} else {
		edit(next)
	}
	body, err := jsonBody(next)
	if err != nil {
		return nil, err
	}
	return next[revision], c.do(http.MethodPut, path, body, out)
}

// staleAdvice adds to a 409 of the API how to make the change again: get the resource
// anew (getCommand), change that, and send it.
func staleAdvice(err error, getCommand string) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusConflict {
		return fmt.Errorf("%w\n  get it again with `%s`, make your change to that, and send it", err, getCommand)
	}
	return err
}

// pageFlags are the paging flags of a list command.
type pageFlags struct {
	limit     int
	pageToken string
	all       bool
}

func (p *pageFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.IntVar(&p.limit, "limit", api.DefaultPageLimit, fmt.Sprintf("at most this many a page (1 to %d)", api.MaxPageLimit))
	f.StringVar(&p.pageToken, "page-token", "", "read on from the page that printed this token")
	f.BoolVar(&p.all, "all", false, "read every page (-o jsonl prints each as it arrives)")
}

// getList reads the list at path (q its query, or nil) a page (--limit, --page-token) or,
// with --all, every page. Under -o jsonl each page is printed as it arrives, an item a
// line, so that a long list streams; -o json and yaml print the pages read as one list.
// Either way it says done; with -o text it returns the items for the command to print.
// When a page follows, its token goes to standard error.
func getList[T any](c *apiClient, cmd *cobra.Command, p pageFlags, path string, q url.Values) (items []T, done bool, err error) {
	if p.limit < 1 || p.limit > api.MaxPageLimit {
		return nil, true, fmt.Errorf("--limit %d: from 1 to %d", p.limit, api.MaxPageLimit)
	}
	cl, err := c.client()
	if err != nil {
		return nil, true, err
	}
	var whole api.List[json.RawMessage]
	token := p.pageToken
	for {
		page, err := client.GetPage[json.RawMessage](c.context(), cl, path, q, client.ListOptions{Limit: p.limit, PageToken: token})
		if err != nil {
			return nil, true, namingFlag(c.cliError(err), map[string]string{"limit": "--limit", "page_token": "--page-token"})
		}
		if c.format == formatJSONL {
			if err := c.data(page); err != nil {
				return nil, true, err
			}
		}
		whole.Object, whole.Data = page.Object, append(whole.Data, page.Data...)
		whole.HasMore, whole.NextPageToken = page.HasMore, page.NextPageToken
		if !p.all || !page.HasMore {
			break
		}
		if page.NextPageToken == token {
			return nil, true, fmt.Errorf("the API answered page token %s with itself; stopped after %d items", token, len(whole.Data))
		}
		token = page.NextPageToken
	}
	whole.Total = len(whole.Data)
	if whole.HasMore {
		fmt.Fprintf(cmd.ErrOrStderr(), "more: the same command with --page-token %s (or --all)\n", whole.NextPageToken)
	}
	switch {
	case c.format == formatJSONL:
		return nil, true, nil
	case !c.isText():
		return nil, true, c.data(whole)
	}
	items = make([]T, 0, len(whole.Data))
	for _, raw := range whole.Data {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, true, err
		}
		items = append(items, v)
	}
	return items, false, nil
}

// getAll reads every page of the list at path (which has no query) and returns their items.
func getAll[T any](c *apiClient, path string) ([]T, error) {
	cl, err := c.client()
	if err != nil {
		return nil, err
	}
	var out []T
	for item, err := range client.All[T](c.context(), cl, path, nil, client.ListOptions{Limit: api.MaxPageLimit}) {
		if err != nil {
			return nil, c.cliError(err)
		}
		out = append(out, item)
	}
	return out, nil
}

// listFlag is the items of a repeatable list flag (StringArrayVar), each value of which
// may itself be a comma-separated list: --events a --events b,c is [a b c].
func listFlag(values []string) []string {
	out := []string{}
	for _, v := range values {
		out = append(out, splitList(v)...)
	}
	return out
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// newListCommand is `<noun> list`: GET path, printed as a table of header (columns
// separated by tabs) and a row an item, or as -o asks; none, when set, is what to print
// instead of an empty table.
func newListCommand[T any](g *globalFlags, short, path, header, none string, row func(T) string) *cobra.Command {
	noun := path[strings.LastIndex(path, "/")+1:]
	var pages pageFlags
	cmd := &cobra.Command{
		Use: "list", Short: short, Args: usageArgs,
		Example: fmt.Sprintf("  hookflow %s list\n  hookflow %s list -o json\n  hookflow %s list --all -o jsonl", noun, noun, noun),
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, _ []string) error {
			items, done, err := getList[T](c, cmd, pages, path, nil)
			if done {
				return err
			}
			if len(items) == 0 && none != "" {
				_, err := fmt.Fprintln(c.out, none)
				return err
			}
			return printTable(c.out, header, items, row)
		}),
	}
	pages.register(cmd)
	return cmd
}

// newGetCommand is `<noun> get ID`: GET path/ID, printed as JSON (or YAML with -o yaml).
func newGetCommand(g *globalFlags, path, short string) *cobra.Command {
	noun := path[strings.LastIndex(path, "/")+1:]
	return &cobra.Command{
		Use: "get ID", Short: short, Args: usageArgs,
		Example: fmt.Sprintf("  hookflow %s get %s\n  hookflow %s get %s -o yaml > %s.yaml", noun, exampleID[noun], noun, exampleID[noun], noun[:len(noun)-1]),
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			var v json.RawMessage
			if err := c.do(http.MethodGet, path+"/"+url.PathEscape(args[0]), nil, &v); err != nil {
				return err
			}
			return c.data(v)
		}),
	}
}

// exampleID is an id of each collection as the examples of --help show it.
var exampleID = map[string]string{"distributions": "distr_123", "webhooks": "wh_123", "keys": "key_123"}

// newDeleteCommand is `<noun> delete ID`: DELETE path/ID.
func newDeleteCommand(g *globalFlags, path, noun string) *cobra.Command {
	group := path[strings.LastIndex(path, "/")+1:]
	return &cobra.Command{
		Use: "delete ID", Short: "Delete a " + noun, Args: usageArgs,
		Example: fmt.Sprintf("  hookflow %s delete %s", group, exampleID[group]),
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			if err := c.do(http.MethodDelete, path+"/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			return c.print(map[string]any{"id": args[0], "deleted": true}, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "deleted %s %s\n", noun, args[0])
				return err
			})
		}),
	}
}

// withClient is the RunE of a command that calls the API: run gets the client of the
// global flags.
func (g *globalFlags) withClient(run func(c *apiClient, cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := g.client(cmd)
		if err != nil {
			return err
		}
		return run(c, cmd, args)
	}
}
