// Package activities holds everything with side effects that the Delivery workflow asks
// for: reading distributions, posting webhooks, notifying the operator, pausing.
package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/store"
)

// Version is sent in the user-agent header.
var Version = "dev"

// MaxResponseRead caps how much of a receiver's answer is read, so that a hostile receiver
// cannot exhaust memory.
const MaxResponseRead = 64 << 10

// responseSnippet is how much of the answer is kept on the attempt.
const responseSnippet = 512

// Activities are the side effects of a delivery. Register them with the worker.
type Activities struct {
	Store store.Store
	// HTTP posts the webhooks; NewHTTPClient gives the right defaults.
	HTTP   *http.Client
	Logger *slog.Logger
	// WorkflowLink turns a workflow id into a link to it in the Web UI; may be nil.
	WorkflowLink func(workflowID string) string
	// Mailer sends failure e-mails; nil when no SMTP server is configured.
	Mailer *Mailer
	// Deliveries starts the deliveries of a message's customers; it should use the worker's
	// own client, so that their first workflow tasks come back with the starts.
	Deliveries DeliveryStarter
	// Clock is what a Retry-After date is read against; nil means time.Now. Tests fix it.
	Clock func() time.Time

	// answerHeaders, when set, is given the headers of the receiver's answer (TestPost
	// shows them). A hook rather than a wrapped HTTP client, so that receiver
	// authentication finds the guarded transport to add a client certificate to.
	answerHeaders func(http.Header)

	// receiverAuth caches the TLS transports and access tokens of webhook.auth; made on
	// first use (authCache), a pointer so that Activities can be copied.
	receiverAuth *receiverAuth
}

func (a *Activities) now() time.Time {
	if a.Clock != nil {
		return a.Clock()
	}
	return time.Now()
}

// NewHTTPClient is the client that posts webhooks: no redirects followed, no proxy, a
// separate connect timeout, and the guard's check on every address it connects to; each
// request carries its own overall timeout. A nil guard admits every address.
func NewHTTPClient(guard *TargetGuard) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if guard != nil {
		dialer.Control = guard.control
	}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   5 * time.Second,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: distributions.MaxTimeout,
			DisableCompression:    true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// LoadCandidates reads the project and the distributions and project webhooks that subscribe
// to eventType, without their secrets: the snapshot enters workflow history.
func (a *Activities) LoadCandidates(ctx context.Context, eventType string) (distributions.Snapshot, error) {
	proj, err := a.Store.Project(ctx)
	if err != nil {
		return distributions.Snapshot{}, fmt.Errorf("read project: %w", err)
	}
	all, err := a.Store.ListDistributions(ctx)
	if err != nil {
		return distributions.Snapshot{}, fmt.Errorf("read distributions: %w", err)
	}
	hooks, err := a.Store.ListWebhooks(ctx)
	if err != nil {
		return distributions.Snapshot{}, fmt.Errorf("read webhooks: %w", err)
	}
	breakers, err := a.Store.BreakerSettings(ctx)
	if err != nil {
		return distributions.Snapshot{}, fmt.Errorf("read circuit-breaker settings: %w", err)
	}
	snap := distributions.Snapshot{ProjectID: proj.ID, Candidates: []distributions.Distribution{}}
	for _, d := range all {
		if d.SubscribesTo(eventType) {
			r := d.Redacted()
			dropCertificate(r.Webhook.Auth)
			// The breaker in effect, resolved at intake so the workflow knows it without
			// I/O: nil (as before breakers existed) when off.
			r.Webhook.CircuitBreaker = distributions.EffectiveBreaker(r.Webhook.CircuitBreaker, breakers.Default)
			snap.Candidates = append(snap.Candidates, r)
		}
	}
	for _, w := range hooks {
		if w.SubscribesTo(eventType) {
			r := w.Redacted()
			dropCertificate(r.Auth)
			snap.Webhooks = append(snap.Webhooks, r)
		}
	}
	return snap, nil
}

// sendConfig is what the POST activity reads from the store for one attempt: never from
// the workflow, so that none of it enters history.
type sendConfig struct {
	// secrets sign the delivery.
	secrets []string
	// headers hold the values of the secret custom headers.
	headers []distributions.Header
	// traceContext: the receiver asked for the trace context (webhook.trace_context).
	traceContext bool
	// auth is webhook.auth, nil without it.
	auth *distributions.Auth
}

// sendSecrets reads the settings that a delivery of sourceID is sent with as they stand
// now: the secrets that sign it (the distribution's, or project webhook's, own secret if
// it has one, else the project's), the values of its secret headers, whether the receiver
// asked for the trace context, and its receiver authentication.
func (a *Activities) sendSecrets(ctx context.Context, sourceID string, project store.Project) (sendConfig, error) {
	var hook distributions.Webhook
	switch {
	case strings.HasPrefix(sourceID, "wh_"):
		w, err := a.Store.GetWebhook(ctx, sourceID)
		if err != nil {
			return sendConfig{}, err
		}
		hook = w.AsWebhook()
	default:
		d, err := a.Store.GetDistribution(ctx, sourceID)
		if err != nil {
			return sendConfig{}, err
		}
		hook = d.Webhook
	}
	cfg := sendConfig{headers: hook.Headers, traceContext: hook.TraceContext, auth: hook.Auth}
	if hook.Secret != "" {
		cfg.secrets = []string{hook.Secret}
	} else {
		cfg.secrets = project.SigningSecrets(time.Now())
	}
	return cfg, nil
}

// Post makes one attempt of a delivery: it signs the body with the project's secrets and
// POSTs it. A non-2xx answer or no answer is an ApplicationError whose type is the
// payloads.Outcome and whose details hold the payloads.Response; the workflow decides
// whether and when to try again, so the error is never retried by Temporal itself.
func (a *Activities) Post(ctx context.Context, req payloads.Request) (payloads.Response, error) {
	start := time.Now()
	resp, err := a.post(ctx, req)
	if activity.IsActivity(ctx) {
		m := activity.GetMetricsHandler(ctx).WithTags(map[string]string{"class": attemptClass(resp, err)})
		m.Counter(MetricAttempts).Inc(1)
		recordLatency(ctx, m.Timer(MetricAttemptDuration), time.Since(start))
	}
	if activity.IsActivity(ctx) && activity.GetInfo(ctx).IsLocalActivity {
		// A local activity's marker keeps no input: the answer carries the request, so the
		// delivery log can show what was sent.
		resp.Request = &req
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.HasDetails() {
			var details payloads.Response
			if appErr.Details(&details) == nil {
				details.Request = &req
				err = failure(payloads.Outcome(appErr.Type()), appErr.Message(), details)
			}
		}
	}
	return resp, err
}

func (a *Activities) post(ctx context.Context, req payloads.Request) (payloads.Response, error) {
	proj, err := a.Store.Project(ctx)
	if err != nil {
		return payloads.Response{}, fmt.Errorf("read signing secret: %w", err)
	}
	cfg, err := a.sendSecrets(ctx, req.SourceID, proj)
	if errors.Is(err, store.ErrNotFound) {
		return payloads.Response{}, failure(payloads.Rejected, fmt.Sprintf("%s no longer exists: it was deleted", req.SourceID), payloads.Response{})
	}
	if err != nil {
		return payloads.Response{}, fmt.Errorf("read the secrets of %s: %w", req.SourceID, err)
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = distributions.DefaultTimeout
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hctx, span := startAttemptSpan(hctx, req)
	var out payloads.Response
	var outErr error
	defer func() { endAttemptSpan(span, out, outErr) }()
	httpReq, err := http.NewRequestWithContext(hctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		out, outErr = payloads.Response{}, failure(payloads.Rejected, fmt.Sprintf("invalid URL %q: %v", req.URL, err), payloads.Response{})
		return out, outErr
	}
	for _, h := range req.Headers {
		value := h.Value
		if h.Secret {
			value = secretHeaderValue(cfg.headers, h.Name)
		}
		httpReq.Header.Set(h.Name, value)
	}
	// Set after the custom headers, which validation keeps off these names anyway.
	httpReq.Header.Set("content-type", "application/json")
	httpReq.Header.Set("user-agent", "hookflow/"+Version)
	if err := payloads.SignHeaders(httpReq.Header, cfg.secrets, req.DeliveryID, time.Now(), req.Body); err != nil {
		outErr = fmt.Errorf("sign delivery %s: %w", req.DeliveryID, err)
		return payloads.Response{}, outErr
	}
	if cfg.traceContext {
		// Outside what is signed: the signature covers the id, the time and the body.
		injectTraceContext(hctx, httpReq.Header)
	}
	client := a.HTTP
	var auth *authEntry
	if cfg.auth != nil {
		if auth, err = a.authCache().entry(req.SourceID, cfg.auth, a.HTTP); err != nil {
			outErr = failure(payloads.Retryable, err.Error(), payloads.Response{})
			return payloads.Response{}, outErr
		}
		client = auth.client
		if auth.tokens != nil {
			// Outside what is signed too, and never in history: the activity's input
			// has no token, and the answer it returns has no request headers.
			tok, err := auth.tokens.token(hctx, "")
			if err != nil {
				outErr = tokenFailure(cfg.auth.OAuth2.TokenURL, err)
				a.logger(ctx).Info("attempt", "delivery", req.DeliveryID, "url", ShownURL(req.URL), "error", failureMessage(outErr))
				return payloads.Response{}, outErr
			}
			httpReq.Header.Set("authorization", "Bearer "+tok)
		}
	}
	out, outErr = a.send(ctx, req, httpReq, client, auth)
	return out, outErr
}

// reauthorize is the retry of an attempt whose receiver refused its bearer token with 401:
// the same request (the same webhook-id, timestamp and signature, the body read again)
// with a new token, which another attempt may have fetched meanwhile. Once only: a
// receiver that refuses a fresh token too gets its 401 recorded.
func reauthorize(httpReq *http.Request, tokens *tokenCache, tokenURL string) (*http.Request, error) {
	stale := strings.TrimPrefix(httpReq.Header.Get("authorization"), "Bearer ")
	tok, err := tokens.token(httpReq.Context(), stale)
	if err != nil {
		return nil, tokenFailure(tokenURL, err)
	}
	retry := httpReq.Clone(httpReq.Context())
	if httpReq.GetBody != nil {
		body, err := httpReq.GetBody()
		if err != nil {
			return nil, err
		}
		retry.Body = body
	}
	retry.Header.Set("authorization", "Bearer "+tok)
	return retry, nil
}

// send makes the HTTP request of one attempt with client and reads its answer; auth is
// the receiver authentication, nil without it.
func (a *Activities) send(ctx context.Context, req payloads.Request, httpReq *http.Request, client *http.Client, auth *authEntry) (payloads.Response, error) {
	start := time.Now()
	resp, err := client.Do(httpReq)
	if err == nil && resp.StatusCode == http.StatusUnauthorized && auth != nil && auth.tokens != nil {
		// The token may have been revoked or expired early: one new token, one retry.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseRead))
		resp.Body.Close()
		retry, rerr := reauthorize(httpReq, auth.tokens, auth.tokens.conf.TokenURL)
		if rerr != nil {
			out := payloads.Response{StatusCode: http.StatusUnauthorized, LatencyMs: time.Since(start).Milliseconds()}
			outcome := payloads.Retryable
			var appErr *temporal.ApplicationError
			if errors.As(rerr, &appErr) {
				outcome = payloads.Outcome(appErr.Type())
			}
			msg := fmt.Sprintf("HTTP 401 from %s, and no new token: %s", ShownURL(req.URL), failureMessage(rerr))
			a.logger(ctx).Info("attempt", "delivery", req.DeliveryID, "url", ShownURL(req.URL), "status", http.StatusUnauthorized, "error", msg)
			return out, failure(outcome, msg, out)
		}
		a.logger(ctx).Info("receiver refused the bearer token: retrying once with a new one", "delivery", req.DeliveryID, "url", ShownURL(req.URL))
		resp, err = client.Do(retry)
	}
	if errors.Is(err, ErrRefusedTarget) {
		var opErr *net.OpError
		msg := err.Error()
		if errors.As(err, &opErr) {
			msg = opErr.Err.Error()
		}
		a.logger(ctx).Warn("attempt refused", "delivery", req.DeliveryID, "url", ShownURL(req.URL), "error", msg)
		return payloads.Response{}, failure(payloads.Rejected, msg, payloads.Response{})
	}
	if err != nil {
		latency := time.Since(start).Milliseconds()
		msg := describeTransportError(ShownURL(req.URL), err)
		a.logger(ctx).Info("attempt", "delivery", req.DeliveryID, "url", ShownURL(req.URL), "error", msg, "latency_ms", latency)
		return payloads.Response{}, failure(payloads.Retryable, msg, payloads.Response{LatencyMs: latency})
	}
	defer resp.Body.Close()
	if a.answerHeaders != nil {
		a.answerHeaders(resp.Header)
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseRead))
	out := payloads.Response{StatusCode: resp.StatusCode, LatencyMs: time.Since(start).Milliseconds()}
	if len(head) > responseSnippet {
		head = head[:responseSnippet]
	}
	out.Body = string(bytes.ToValidUTF8(head, []byte("?")))
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		out.RetryAfterSeconds = retryAfterSeconds(resp.Header.Get("retry-after"), a.now())
	}
	outcome := payloads.ClassifyStatus(resp.StatusCode)
	a.logger(ctx).Info("attempt", "delivery", req.DeliveryID, "url", ShownURL(req.URL), "status", resp.StatusCode,
		"outcome", string(outcome), "latency_ms", out.LatencyMs)
	if outcome == payloads.Delivered {
		return out, nil
	}
	return out, failure(outcome, fmt.Sprintf("HTTP %d from %s", resp.StatusCode, ShownURL(req.URL)), out)
}

// Metrics recorded by the activities, through the SDK's handler.
const (
	MetricAttempts        = "hookflow_attempts_total"
	MetricAttemptDuration = "hookflow_attempt_duration_seconds"
	MetricNotifications   = "hookflow_notifications_sent_total"
)

// attemptClass names an attempt's result for the attempts metric: the status class
// ("2xx" … "5xx"), or why there was no answer.
func attemptClass(resp payloads.Response, err error) string {
	if resp.StatusCode > 0 {
		return strconv.Itoa(resp.StatusCode/100) + "xx"
	}
	switch {
	case err == nil:
		return "2xx"
	case errors.Is(err, ErrRefusedTarget) || strings.Contains(err.Error(), "refused target"):
		return "refused"
	case strings.Contains(err.Error(), "timeout"):
		return "timeout"
	case strings.Contains(err.Error(), "connect:"):
		return "connect"
	case strings.Contains(err.Error(), "dns:"):
		return "dns"
	}
	return "transport"
}

func countNotification(ctx context.Context, channel string) {
	if activity.IsActivity(ctx) {
		activity.GetMetricsHandler(ctx).WithTags(map[string]string{"channel": channel}).Counter(MetricNotifications).Inc(1)
	}
}

// maxRetryAfter bounds a Retry-After: the workflow honours it only up to twice the next
// interval anyway.
const maxRetryAfter = 48 * 60 * 60

// retryAfterSeconds reads a Retry-After header: delay-seconds or an HTTP date. Anything else
// is 0, no request.
func retryAfterSeconds(v string, now time.Time) int64 {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
		return min(max(n, 0), maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(int64(t.Sub(now).Seconds()), 0), maxRetryAfter)
	}
	return 0
}

// secretHeaderValue is the stored value of a secret header: the current one, even if the
// delivery matched an older version of the distribution.
func secretHeaderValue(stored []distributions.Header, name string) string {
	for _, h := range stored {
		if h.Name == name && h.Secret {
			return h.Value
		}
	}
	return ""
}

// ShownURL is a target URL as logs and failure messages show it: without its query and
// user info, where receivers often put tokens. Failure messages are not encrypted in
// Temporal history, and logs go wherever the operator ships them.
func ShownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery, u.ForceQuery = "…", false
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// failureMessage is the message of an attempt's failure, without its type.
func failureMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}

func failure(o payloads.Outcome, msg string, resp payloads.Response) error {
	return temporal.NewApplicationErrorWithOptions(msg, string(o), temporal.ApplicationErrorOptions{
		NonRetryable: true, // the workflow runs the schedule
		Details:      []any{resp},
	})
}

// describeTransportError names the class of a failure to get an answer.
func describeTransportError(target string, err error) string {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("timeout: no answer from %s in time", target)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("dns: %v", dnsErr)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Sprintf("connect: %v", opErr.Err)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	return fmt.Sprintf("transport: POST %s: %v", target, err)
}

// PauseDistribution sets a distribution to paused; one deleted meanwhile is not an error.
func (a *Activities) PauseDistribution(ctx context.Context, distributionID string) error {
	_, _, err := a.Store.SetDistributionStatus(ctx, distributionID, distributions.StatusPaused, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// DisableWebhook sets a project webhook inactive; one deleted meanwhile is not an error.
func (a *Activities) DisableWebhook(ctx context.Context, webhookID string) error {
	_, _, err := a.Store.SetWebhookActive(ctx, webhookID, false, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

func (a *Activities) logger(ctx context.Context) *slog.Logger {
	l := a.Logger
	if l == nil {
		l = slog.Default()
	}
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		l = l.With("workflow_id", info.WorkflowExecution.ID)
	}
	return l
}
