package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/app"
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

// apiClient calls the hookflow API and prints what it answers.
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
}

func (g *globalFlags) client(cmd *cobra.Command) (*apiClient, error) {
	u, err := url.Parse(g.api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--api %q: want a URL such as http://%s", g.api, app.DefaultAPIAddr)
	}
	if err := checkIdempotencyKey(g.idempotencyKey); err != nil {
		return nil, err
	}
	return &apiClient{
		printer: g.printer(cmd),
		base:    strings.TrimRight(g.api, "/"), key: g.apiKey,
		http:           &http.Client{Timeout: 30 * time.Second},
		idempotencyKey: g.idempotencyKey,
		retryWait:      500 * time.Millisecond,
	}, nil
}

// do sends a request with a JSON body (or none) and decodes a 2xx JSON answer into v (when
// not nil; a *json.RawMessage takes the answer as it is). Numbers decoded into an any are
// json.Number, so they keep their digits. A non-2xx answer becomes an error with the API's
// message.
func (c *apiClient) do(method, path string, body []byte, v any) error {
	return c.send(c.http, method, path, "application/json", body, "", v)
}

// jsonBody is v as the JSON body of a request: the user's strings and JSON (a
// json.RawMessage within v) as they gave them, compacted, with no HTML escaping of <, >
// and & (json.Marshal would send them as \u003c..., even inside a RawMessage); see
// docs/decisions.md.
func jsonBody(v any) ([]byte, error) { return marshal(v) }

// upload is do for a large body of any content type (a file of codes or customers), with
// time enough to send and store it.
func (c *apiClient) upload(method, path, contentType string, body []byte, v any) error {
	hc := *c.http
	hc.Timeout = 10 * time.Minute
	return c.send(&hc, method, path, contentType, body, "", v)
}

// create is do for a POST that creates or sends (an event, a distribution, a message, a
// resend, ...): it carries an Idempotency-Key, --idempotency-key or a new one, and is sent
// again under that key when its answer is lost, so that the work is done once whatever
// happens to the answer; see sendOnce.
func (c *apiClient) create(path string, body []byte, v any) error {
	return c.sendOnce(c.http, path, "application/json", body, v)
}

// createUpload is create for a large body of any content type (a message's customers).
func (c *apiClient) createUpload(path, contentType string, body []byte, v any) error {
	hc := *c.http
	hc.Timeout = 10 * time.Minute
	return c.sendOnce(&hc, path, contentType, body, v)
}

// createAttempts is how many times a creating POST is sent at most.
const createAttempts = 4

// sendOnce POSTs body under an Idempotency-Key and sends it again, under the same key, when
// the first answer may be lost or late: the connection failed after it was made (the API
// may have done the work and not answered), the API or a proxy in front of it was briefly
// unavailable (502, 503, 504), or the API is still working on the same request (409 with
// Retry-After). The API answers a repeat with the first answer and does nothing twice. A
// connection refused is not sent again: nothing was sent.
func (c *apiClient) sendOnce(hc *http.Client, path, contentType string, body []byte, v any) error {
	key := c.idempotencyKey
	if key == "" {
		key = newIdempotencyKey()
	}
	wait := c.retryWait
	var err error
	for attempt := 1; ; attempt++ {
		err = c.send(hc, http.MethodPost, path, contentType, body, key, v)
		again, after := sendAgain(err)
		if !again {
			return err
		}
		if attempt == createAttempts {
			break
		}
		if after > 0 && after <= 5*time.Second {
			wait = after
		}
		time.Sleep(wait)
		wait *= 2
	}
	return fmt.Errorf("%w\n  it may have been done: send it again with --idempotency-key %s to get its answer without doing it twice", err, key)
}

// sendAgain says whether a creating POST that ended in err is sent again, and after how
// long the API asked for (0: not said).
func sendAgain(err error) (bool, time.Duration) {
	var ue *unreachableError
	if errors.As(err, &ue) {
		return !errors.Is(ue.err, syscall.ECONNREFUSED) && !errors.Is(ue.err, context.Canceled), 0
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		return false, 0
	}
	switch {
	case ae.status == http.StatusBadGateway || ae.status == http.StatusServiceUnavailable || ae.status == http.StatusGatewayTimeout:
	case ae.status == http.StatusConflict && ae.retryAfter > 0:
	default:
		return false, 0
	}
	return true, ae.retryAfter
}

// newIdempotencyKey is a random key (128 bits and more, base32) for a creating POST.
func newIdempotencyKey() string {
	return "hookflow-cli-" + rand.Text()
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

// send sends a request; idempotencyKey, when not empty, goes in its Idempotency-Key.
func (c *apiClient) send(hc *http.Client, method, path, contentType string, body []byte, idempotencyKey string, v any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("content-type", contentType)
	}
	if c.key != "" {
		req.Header.Set("authorization", "Bearer "+c.key)
	}
	if idempotencyKey != "" {
		req.Header.Set(api.IdempotencyHeader, idempotencyKey)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return &unreachableError{base: c.base, err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return &unreachableError{base: c.base, err: err}
	}
	if resp.StatusCode/100 != 2 {
		retryAfter, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		var eb api.ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Message != "" {
			return &apiError{status: resp.StatusCode, detail: eb.Error, retryAfter: time.Duration(retryAfter) * time.Second}
		}
		return &apiError{status: resp.StatusCode, retryAfter: time.Duration(retryAfter) * time.Second,
			detail: api.ErrorDetail{Message: fmt.Sprintf("%s %s: HTTP %d", method, path, resp.StatusCode)}}
	}
	if v == nil || len(data) == 0 {
		return nil
	}
	if raw, ok := v.(*json.RawMessage); ok {
		*raw = append((*raw)[:0], data...)
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
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
	if q == nil {
		q = url.Values{}
	}
	var whole api.List[json.RawMessage]
	token := p.pageToken
	for {
		q.Set("limit", strconv.Itoa(p.limit))
		q.Del("page_token")
		if token != "" {
			q.Set("page_token", token)
		}
		var page api.List[json.RawMessage]
		if err := c.do(http.MethodGet, path+"?"+q.Encode(), nil, &page); err != nil {
			return nil, true, namingFlag(err, map[string]string{"limit": "--limit", "page_token": "--page-token"})
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
	var out []T
	next := path + "?limit=" + strconv.Itoa(api.MaxPageLimit)
	for {
		var l api.List[T]
		if err := c.do(http.MethodGet, next, nil, &l); err != nil {
			return nil, err
		}
		out = append(out, l.Data...)
		if !l.HasMore {
			return out, nil
		}
		next = path + "?limit=" + strconv.Itoa(api.MaxPageLimit) + "&page_token=" + url.QueryEscape(l.NextPageToken)
	}
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
