package cli

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/payloads"
)

// receiveMaxBody bounds what `hookflow receive` reads of one delivery.
const receiveMaxBody = 1 << 20

type receiveOptions struct {
	listen string
	secret string
	fail   int
	status int
	// acceptInvalid answers a delivery whose signature does not verify as any other,
	// rather than 401.
	acceptInvalid bool
}

func newReceiveCommand(getenv func(string) string) *cobra.Command {
	var o receiveOptions
	cmd := &cobra.Command{
		Use:   "receive",
		Short: "Run a local webhook receiver that prints and verifies every delivery",
		Long: `Run a local webhook receiver for development: it prints every delivery (headers and
pretty body), checks both signatures when given the secret, and can answer errors to the
first N attempts of each delivery to watch the retries.

A delivery whose signature does not verify is answered 401, as a real receiver would answer
it (hookflow then retries it); --accept-invalid answers it as any other.`,
		Example: `  hookflow receive --listen 127.0.0.1:9000 --secret whsec_...
  hookflow receive --listen 127.0.0.1:9000 --fail 2 --status 503
  hookflow receive --secret whsec_... --accept-invalid`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Read here rather than as the flag's default, so that --help never shows it.
			if !cmd.Flags().Changed("secret") {
				o.secret = getenv("HOOKFLOW_SECRET")
			}
			return runReceive(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:9000", "address to listen on")
	f.Var(&secretValue{p: &o.secret}, "secret", "signing secret to verify with (env HOOKFLOW_SECRET)")
	f.IntVar(&o.fail, "fail", 0, "answer an error to the first N attempts of each delivery")
	f.IntVar(&o.status, "status", http.StatusServiceUnavailable, "the error status that --fail answers")
	f.BoolVar(&o.acceptInvalid, "accept-invalid", false, "answer a delivery whose signature does not verify as any other (default: 401)")
	return noOutput(cmd)
}

func runReceive(ctx context.Context, o receiveOptions, out io.Writer) error {
	if o.fail < 0 {
		return fmt.Errorf("--fail %d: must be 0 or more", o.fail)
	}
	if o.status < 300 || o.status > 599 {
		return fmt.Errorf("--status %d: want an error status between 300 and 599", o.status)
	}
	if o.secret != "" {
		if _, err := payloads.StandardSignature(o.secret, "", 0, nil); err != nil || !strings.HasPrefix(o.secret, payloads.SecretPrefix) {
			// The value itself is not repeated: it may be a real secret, mistyped.
			return fmt.Errorf("--secret: not a signing secret: one is %s followed by base64, such as %sMfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw; copy it from `hookflow secrets show` or the banner of `hookflow dev`", payloads.SecretPrefix, payloads.SecretPrefix)
		}
	}
	if err := checkListen(o.listen); err != nil {
		return err
	}
	l, err := net.Listen("tcp", o.listen)
	if errors.Is(err, syscall.EADDRINUSE) {
		_, port, _ := net.SplitHostPort(o.listen)
		return fmt.Errorf("--listen %s: port %s is taken: another program listens there (perhaps another hookflow receive); stop it, or choose a free port such as --listen 127.0.0.1:%s and point the distribution's URL at it", o.listen, port, nextPort(port))
	}
	if err != nil {
		return fmt.Errorf("--listen %s: %v", o.listen, errors.Unwrap(err))
	}
	r := &devReceiver{opts: o, out: out, attempts: map[string]int{}}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "hookflow receive: listening on http://%s\n", l.Addr())
	if o.secret == "" {
		fmt.Fprintln(out, "  signatures are not checked: pass --secret (printed by hookflow dev)")
	}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// checkListen refuses a --listen that is not host:port, saying what to write: a bare port
// such as 9000 is 127.0.0.1:9000 (this machine only) or :9000 (every interface).
func checkListen(listen string) error {
	if _, err := strconv.Atoi(listen); err == nil {
		return fmt.Errorf("--listen %s: give an address with the port: 127.0.0.1:%s (this machine only) or :%s (every interface)", listen, listen, listen)
	}
	if _, _, err := net.SplitHostPort(listen); err != nil {
		return fmt.Errorf("--listen %s: not host:port; write it as 127.0.0.1:9000 (this machine only) or :9000 (every interface)", listen)
	}
	return nil
}

// nextPort is the port after port, to suggest in place of a taken one.
func nextPort(port string) string {
	n, err := strconv.Atoi(port)
	if err != nil || n <= 0 || n >= 65535 {
		return "9001"
	}
	return strconv.Itoa(n + 1)
}

// devReceiver prints deliveries and answers them.
type devReceiver struct {
	opts     receiveOptions
	mu       sync.Mutex
	out      io.Writer
	attempts map[string]int // by webhook-id
}

func (r *devReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, receiveMaxBody))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts[id]++
	attempt := r.attempts[id]
	checks, verified := verifyDelivery(r.opts.secret, req.Header, body, time.Now())
	status := http.StatusOK
	switch {
	case !verified && !r.opts.acceptInvalid:
		status = http.StatusUnauthorized
	case attempt <= r.opts.fail:
		status = r.opts.status
	}
	fmt.Fprintf(r.out, "\n%s %s %s  attempt %d  -> %d\n", time.Now().Format("15:04:05"), req.Method, req.URL.RequestURI(), attempt, status)
	names := make([]string, 0, len(req.Header))
	for k := range req.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(r.out, "  %s: %s\n", strings.ToLower(k), strings.Join(req.Header[k], ", "))
	}
	for _, line := range checks {
		fmt.Fprintf(r.out, "  %s\n", line)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "  ", "  ") == nil {
		fmt.Fprintf(r.out, "  %s\n", pretty.String())
	} else {
		fmt.Fprintf(r.out, "  (body is not JSON) %q\n", body)
	}
	w.WriteHeader(status)
}

// verifyDelivery says whether each signature of a delivery verifies with secret, a line
// each, and whether both do (and the timestamp is within what receivers accept); without a
// secret nothing is checked and verified is true.
func verifyDelivery(secret string, h http.Header, body []byte, now time.Time) (lines []string, verified bool) {
	if secret == "" {
		return []string{"check signatures: not checked (no --secret)"}, true
	}
	want := payloads.VoucherifySignature(secret, body)
	voucherifyOK := hmac.Equal([]byte(h.Get("x-voucherify-signature")), []byte(want))
	if voucherifyOK {
		lines = append(lines, "check x-voucherify-signature: verified")
	} else {
		lines = append(lines, "check x-voucherify-signature: DOES NOT VERIFY")
	}
	ts, err := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
	if err != nil {
		return append(lines, "check webhook-signature: DOES NOT VERIFY (no valid webhook-timestamp)"), false
	}
	expected, err := payloads.StandardSignature(secret, h.Get("webhook-id"), ts, body)
	if err != nil {
		return append(lines, "check webhook-signature: "+err.Error()), false
	}
	standardOK := false
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		standardOK = standardOK || hmac.Equal([]byte(sig), []byte(expected))
	}
	switch skew := now.Sub(time.Unix(ts, 0)); {
	case !standardOK:
		lines = append(lines, "check webhook-signature: DOES NOT VERIFY")
	case skew > 5*time.Minute || skew < -5*time.Minute:
		lines = append(lines, fmt.Sprintf("check webhook-signature: verified, but the timestamp is %s off (receivers reject more than 5m)", skew.Round(time.Second)))
		return lines, false
	default:
		lines = append(lines, "check webhook-signature: verified")
	}
	return lines, voucherifyOK && standardOK
}
