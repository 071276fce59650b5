package activities

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/netip"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultMailTimeout bounds one Mailer.Send when the Mailer sets no Timeout.
const DefaultMailTimeout = 30 * time.Second

// MaxMailRecipients is the most addresses one Mail may have. A failure notice goes to a
// handful of operators; a longer list is more likely a mistake than a mailing list, and many
// servers refuse more than 50 or 100 RCPT commands per message anyway.
const MaxMailRecipients = 50

// maxHeaderLine is the RFC 5322 limit on a line of the message, without its CRLF;
// foldWidth is the width the RFC recommends and the folding aims for.
const (
	maxHeaderLine = 998
	foldWidth     = 78
)

// Mail is one plain-text message.
type Mail struct {
	// To are RFC 5322 addresses, with or without a display name ("Ops <ops@example.com>");
	// at most MaxMailRecipients.
	To []string
	// Subject may be any UTF-8 text on one line; it is encoded as RFC 2047 words when it is
	// not ASCII.
	Subject string
	// Text is the body; "\n" and "\r\n" both end a line.
	Text string
	// MessageID identifies the message, like "<whs_1a2b@hookflow>". Give one derived from
	// what is being notified so that a resent notification carries the same Message-ID and
	// mail clients show it once; empty means a random one.
	MessageID string
	// Headers are extra header fields, like Reply-To or Auto-Submitted. They may not replace
	// the fields the Mailer writes itself (From, To, Subject, Date, Message-ID and the MIME
	// fields). Values that are not ASCII are encoded as RFC 2047 words, which suits
	// unstructured fields only.
	Headers map[string]string
}

// Mailer sends mail through one SMTP server: a submission server with STARTTLS
// (smtp://, port 587 by default) or with TLS from the start (smtps://, port 465). Its
// zero value is not usable; NewMailer makes one. Send may be called from several
// goroutines at once; each call uses a connection of its own.
type Mailer struct {
	// TLSConfig verifies the server on smtps:// and on STARTTLS. Nil means the system's
	// roots; an empty ServerName means the host of the URL. Tests set RootCAs here to
	// trust their own certificate: there is deliberately no URL switch that turns
	// verification off.
	TLSConfig *tls.Config
	// Timeout bounds each Send from dialling to QUIT; the context's deadline, if earlier,
	// wins. Zero means DefaultMailTimeout.
	Timeout time.Duration

	host        string
	port        string
	implicitTLS bool
	user, pass  string
	from        *mail.Address
	helo        string // the name given in EHLO

	// dial replaces the network dialer in tests, so that a Mailer configured for a remote
	// host name still only ever connects to loopback.
	dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// NewMailer returns a Mailer for the server at smtpURL, which is
// smtp://user:password@host:port or smtps://user:password@host:port, the sender from, an
// RFC 5322 address, and helo, the name the Mailer gives in EHLO: a domain name or an address
// literal like [192.0.2.1]; empty means this machine's host name (DefaultHelo). The user and
// password are optional and URL-escaped; without them the Mailer does not authenticate.
// Errors name the flags --smtp-url, --smtp-from and --smtp-helo and never repeat the
// password.
func NewMailer(smtpURL, from, helo string) (*Mailer, error) {
	m := &Mailer{}
	if err := m.parseURL(smtpURL); err != nil {
		return nil, err
	}
	addr, err := parseMailAddress(from)
	if err != nil {
		return nil, fmt.Errorf("--smtp-from: %w", err)
	}
	m.from = addr
	if helo == "" {
		helo = DefaultHelo()
	} else if !validHelo(helo) {
		return nil, fmt.Errorf("--smtp-helo %q: not a domain name such as mail.example.com or an address literal such as [192.0.2.1]", helo)
	}
	m.helo = helo
	return m, nil
}

// Helo is the name the Mailer gives in EHLO.
func (m *Mailer) Helo() string { return m.helo }

// DefaultHelo is the name a Mailer gives in EHLO unless told otherwise: this machine's host
// name, or "localhost" when it has none that is a valid domain name. Some servers refuse or
// score down a client whose EHLO name is not its own.
func DefaultHelo() string {
	if h, err := os.Hostname(); err == nil && validDomain(h) {
		return h
	}
	return "localhost"
}

// validHelo accepts what RFC 5321 allows after EHLO: a domain or an address literal.
func validHelo(s string) bool {
	if inner, ok := strings.CutPrefix(s, "["); ok {
		inner, ok = strings.CutSuffix(inner, "]")
		if !ok {
			return false
		}
		if v6, ok := strings.CutPrefix(inner, "IPv6:"); ok {
			a, err := netip.ParseAddr(v6)
			return err == nil && a.Is6() && a.Zone() == ""
		}
		a, err := netip.ParseAddr(inner)
		return err == nil && a.Is4()
	}
	return validDomain(s)
}

// validDomain accepts a host name: dot-separated labels of letters, digits and hyphens,
// none starting or ending with a hyphen, at most 63 characters each and 253 in all.
func validDomain(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// smtpURLForm is appended to URL errors: most of them come from a mistyped URL or from
// special characters in a password that were not escaped.
const smtpURLForm = " (want smtp://user:password@host:587 or smtps://user:password@host:465, " +
	"with special characters in the user and password escaped as %XX)"

// parseURL fills in the server part of m. No error repeats any part of the raw URL: when a
// password holds an unescaped '/', '?' or '#', url.Parse cuts it into host, port, path or
// query, so even those pieces may be a secret.
func (m *Mailer) parseURL(raw string) error {
	if strings.TrimSpace(raw) == "" {
		return errors.New("--smtp-url is empty" + smtpURLForm)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, password included.
		return errors.New("--smtp-url is not a valid URL" + smtpURLForm)
	}
	switch u.Scheme { // url.Parse lower-cases the scheme
	case "smtp":
		m.port = "587"
	case "smtps":
		m.port, m.implicitTLS = "465", true
	default:
		return errors.New("--smtp-url must start with smtp:// or smtps://" + smtpURLForm)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return errors.New("--smtp-url has no host" + smtpURLForm)
	}
	if u.Path != "" && u.Path != "/" {
		return errors.New("--smtp-url may not have a path; is a '/' in the password not escaped as %2F?")
	}
	if u.RawQuery != "" || u.ForceQuery {
		return errors.New("--smtp-url takes no query parameters; is a '?' in the password not escaped as %3F?")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return errors.New("--smtp-url may not have a fragment; is a '#' in the password not escaped as %23?")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return errors.New("--smtp-url has an invalid port: want 1 to 65535")
		}
		m.port = strconv.Itoa(n)
	}
	m.host = u.Hostname()
	if u.User != nil {
		m.user = u.User.Username()
		m.pass, _ = u.User.Password()
		switch {
		case m.user == "" && m.pass != "":
			return errors.New("--smtp-url has a password but no user")
		case m.user != "" && m.pass == "":
			return errors.New("--smtp-url has a user but no password; write smtp://user:password@host")
		}
	}
	return nil
}

// String describes the server and the sender, without the password, so that a Mailer can
// be logged.
func (m *Mailer) String() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(m.host, m.port)}
	if m.implicitTLS {
		u.Scheme = "smtps"
	}
	if m.user != "" {
		u.User = url.User(m.user)
	}
	from := ""
	if m.from != nil {
		from = m.from.String()
	}
	return fmt.Sprintf("%s from %s", u.String(), from)
}

// Send delivers msg to all its recipients or to none. It connects, says EHLO, switches to
// TLS when the server offers STARTTLS (smtps:// has TLS from the start), authenticates with
// AUTH PLAIN or AUTH LOGIN when the URL has credentials, and hands over the message. A message that is
// not valid (a bad address, a line break in a header, too many recipients) is refused
// before connecting. IsPermanentMailError tells whether trying again can help.
func (m *Mailer) Send(ctx context.Context, msg Mail) error {
	rcpts, data, err := m.compose(msg, time.Now())
	if err != nil {
		return err
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = DefaultMailTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(m.host, m.port)
	if err := m.transact(ctx, addr, rcpts, data); err != nil {
		return fmt.Errorf("send mail via %s: %w", addr, err)
	}
	return nil
}

// transact runs one SMTP session. It fails the whole message when any recipient is refused,
// before DATA: a retry then sends to everyone once, never a second copy to those who
// already have it.
func (m *Mailer) transact(ctx context.Context, addr string, rcpts []string, data []byte) error {
	dial := m.dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return stageError(ctx, "connect", err)
	}
	defer conn.Close()
	// net/smtp knows no contexts. Closing the connection when ctx ends (it always has a
	// deadline here) unblocks whatever read or write is under way, and, unlike a deadline
	// on the connection, cannot fire before ctx reports why.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	tlsConfig := m.tlsConfig()
	var nc net.Conn = conn
	if m.implicitTLS {
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return stageError(ctx, "TLS handshake", err)
		}
		nc = tc
	}
	// The host given here is what smtp.PlainAuth compares against, and what it checks
	// for being loopback when the connection is not encrypted.
	c, err := smtp.NewClient(nc, m.host)
	if err != nil {
		return stageError(ctx, "greeting", err)
	}
	defer c.Close()
	helo := m.helo
	if helo == "" { // a Mailer not made by NewMailer
		helo = DefaultHelo()
	}
	if err := c.Hello(helo); err != nil {
		return stageError(ctx, "EHLO", err)
	}
	if !m.implicitTLS {
		// Opportunistic: a server that offers STARTTLS gets TLS, and a failure there is
		// an error rather than a silent fall back to plain text.
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConfig); err != nil {
				return stageError(ctx, "STARTTLS", err)
			}
		}
	}
	if m.user != "" {
		if err := m.auth(c); err != nil {
			return stageError(ctx, "AUTH", err)
		}
	}
	if err := c.Mail(envelopeAddress(m.from.Address)); err != nil {
		return stageError(ctx, "MAIL FROM", err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return stageError(ctx, fmt.Sprintf("RCPT TO <%s>", r), err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return stageError(ctx, "DATA", err)
	}
	if _, err := w.Write(data); err != nil {
		return stageError(ctx, "DATA", err)
	}
	if err := w.Close(); err != nil { // the server's answer to the whole message
		return stageError(ctx, "DATA", err)
	}
	// The server has taken the message. A failed QUIT must not turn that into an error: the
	// caller would send the message again.
	_ = c.Quit()
	return nil
}

// auth authenticates with AUTH PLAIN when the server offers it, else with AUTH LOGIN (all
// that Exchange Online and Outlook.com offer). Neither may send the password over an
// unencrypted connection unless the host is localhost, 127.0.0.1 or ::1 (smtp.PlainAuth's
// own rule, which loginAuth repeats); the same test is made here first so that the error
// says what to do and counts as permanent.
func (m *Mailer) auth(c *smtp.Client) error {
	if _, encrypted := c.TLSConnectionState(); !encrypted && !isLoopbackName(m.host) {
		return permanentMailError{errors.New("refusing to send the SMTP password over an unencrypted connection: " +
			"the server offers no STARTTLS (use smtps:// or a server that offers STARTTLS)")}
	}
	_, offered := c.Extension("AUTH")
	mechs := strings.Fields(strings.ToUpper(offered))
	switch {
	case slices.Contains(mechs, "PLAIN"):
		return c.Auth(smtp.PlainAuth("", m.user, m.pass, m.host))
	case slices.Contains(mechs, "LOGIN"):
		return c.Auth(&loginAuth{user: m.user, pass: m.pass, host: m.host})
	case len(mechs) == 0:
		return permanentMailError{errors.New("the server offers no AUTH, but --smtp-url has a user and password " +
			"(hookflow supports AUTH PLAIN and LOGIN)")}
	default:
		return permanentMailError{fmt.Errorf("the server offers AUTH %s; hookflow supports PLAIN and LOGIN",
			strings.Join(mechs, " "))}
	}
}

// loginAuth is the LOGIN mechanism (draft-murchison-sasl-login) as a net/smtp Auth: no
// initial response; the server asks for the user name, then the password (its prompts,
// "Username:" and "Password:" by custom, are not relied upon: the order is).
type loginAuth struct {
	user, pass, host string
	step             int
}

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLoopbackName(server.Name) {
		return "", nil, errors.New("unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	a.step = 0
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(_ []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	a.step++
	switch a.step {
	case 1:
		return []byte(a.user), nil
	case 2:
		return []byte(a.pass), nil
	default:
		return nil, errors.New("AUTH LOGIN: the server asked for more than a user name and a password")
	}
}

// isLoopbackName is the test smtp.PlainAuth makes: by name, not by resolving it.
func isLoopbackName(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

func (m *Mailer) tlsConfig() *tls.Config {
	var cfg *tls.Config
	if m.TLSConfig != nil {
		cfg = m.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = m.host
	}
	return cfg
}

// stageError names the step that failed. A cancelled or expired context is reported as
// such (the connection error it caused says only "use of closed network connection"),
// unless the server had answered already.
func stageError(ctx context.Context, stage string, err error) error {
	var tpErr *textproto.Error
	if ctx.Err() != nil && !errors.As(err, &tpErr) {
		return fmt.Errorf("%s: %w", stage, ctx.Err())
	}
	return fmt.Errorf("%s: %w", stage, err)
}

// permanentMailError marks an error that no retry can cure: the message or the
// configuration must change first.
type permanentMailError struct{ err error }

func (e permanentMailError) Error() string { return e.err.Error() }
func (e permanentMailError) Unwrap() error { return e.err }

// IsPermanentMailError reports whether err from Mailer.Send is permanent: the server
// refused with a 5xx reply, or the message or the configuration is not valid. Trying again
// cannot help then. Everything else (4xx replies, network failures, timeouts, TLS errors,
// which an operator may fix meanwhile) is temporary.
func IsPermanentMailError(err error) bool {
	var perm permanentMailError
	if errors.As(err, &perm) {
		return true
	}
	var tpErr *textproto.Error
	return errors.As(err, &tpErr) && tpErr.Code >= 500 && tpErr.Code <= 599
}

// compose checks msg and writes it out: the envelope recipients and the message with CRLF
// line ends, before dot-stuffing (which the DATA writer does). Its errors are permanent.
func (m *Mailer) compose(msg Mail, now time.Time) ([]string, []byte, error) {
	invalid := func(format string, args ...any) error {
		return permanentMailError{fmt.Errorf("mail not sent: "+format, args...)}
	}
	if len(msg.To) == 0 {
		return nil, nil, invalid("no recipients")
	}
	if len(msg.To) > MaxMailRecipients {
		return nil, nil, invalid("%d recipients, at most %d allowed", len(msg.To), MaxMailRecipients)
	}
	var rcpts, to []string
	for _, s := range msg.To {
		a, err := parseMailAddress(s)
		if err != nil {
			return nil, nil, invalid("To: %w", err)
		}
		env := envelopeAddress(a.Address)
		if slices.Contains(rcpts, env) {
			continue
		}
		rcpts = append(rcpts, env)
		to = append(to, a.String())
	}
	if hasLineBreak(msg.Subject) {
		return nil, nil, invalid("Subject: %s", lineBreakRefusal)
	}
	id, err := m.messageID(msg.MessageID)
	if err != nil {
		return nil, nil, invalid("Message-ID: %w", err)
	}

	fields := [][2]string{
		{"From", m.from.String()},
		{"To", strings.Join(to, ", ")},
		{"Subject", mime.QEncoding.Encode("utf-8", strings.ToValidUTF8(msg.Subject, "\uFFFD"))},
		{"Date", now.Format(time.RFC1123Z)},
		{"Message-ID", id},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"},
		{"Content-Transfer-Encoding", "quoted-printable"},
	}
	own := len(fields) // the fields above; Headers may not repeat them
	names := make([]string, 0, len(msg.Headers))
	for name := range msg.Headers {
		names = append(names, name)
	}
	slices.Sort(names) // the same message is written the same way every time
	for _, name := range names {
		value := msg.Headers[name]
		if err := checkFieldName(name); err != nil {
			return nil, nil, invalid("header %q: %w", name, err)
		}
		if slices.ContainsFunc(fields[:own], func(f [2]string) bool { return strings.EqualFold(f[0], name) }) {
			return nil, nil, invalid("header %q: set by the mailer itself", name)
		}
		if hasLineBreak(value) {
			return nil, nil, invalid("header %s: %s", name, lineBreakRefusal)
		}
		fields = append(fields, [2]string{textproto.CanonicalMIMEHeaderKey(name),
			mime.QEncoding.Encode("utf-8", strings.ToValidUTF8(value, "\uFFFD"))})
	}

	var buf bytes.Buffer
	for _, f := range fields {
		line := foldHeader(f[0], f[1])
		for l := range strings.SplitSeq(line, "\r\n") {
			if len(l) > maxHeaderLine {
				return nil, nil, invalid("header %s: a word longer than %d characters cannot be folded", f[0], maxHeaderLine)
			}
		}
		buf.WriteString(line)
		buf.WriteString("\r\n")
	}
	buf.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&buf) // text mode: it writes every line end as CRLF
	if _, err := qp.Write([]byte(strings.ToValidUTF8(msg.Text, "\uFFFD"))); err != nil {
		return nil, nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, nil, err
	}
	if !bytes.HasSuffix(buf.Bytes(), []byte("\r\n")) {
		buf.WriteString("\r\n")
	}
	return rcpts, buf.Bytes(), nil
}

const lineBreakRefusal = "contains a line break (CR or LF); refused, it could inject header fields"

func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\r\n") }

// parseMailAddress reads one RFC 5322 address. An address (not a display name) beyond ASCII
// is refused: it needs SMTPUTF8, which not every server has.
func parseMailAddress(s string) (*mail.Address, error) {
	if hasLineBreak(s) {
		return nil, fmt.Errorf("address %q %s", s, lineBreakRefusal)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an e-mail address: %v", s, err)
	}
	for _, r := range a.Address {
		if r >= utf8.RuneSelf {
			return nil, fmt.Errorf("%q: addresses beyond ASCII are not supported", s)
		}
	}
	return a, nil
}

// envelopeAddress is an address as MAIL FROM and RCPT TO want it: net/mail unquotes a local
// part like "john doe", and writing it back through Address.String quotes it again.
func envelopeAddress(addr string) string {
	return strings.TrimSuffix(strings.TrimPrefix((&mail.Address{Address: addr}).String(), "<"), ">")
}

// messageID returns id in angle brackets (adding them when missing), or a random id at the
// sender's domain when id is empty.
func (m *Mailer) messageID(id string) (string, error) {
	if hasLineBreak(id) {
		return "", errors.New(lineBreakRefusal)
	}
	if id == "" {
		var b [16]byte
		rand.Read(b[:])
		domain := m.from.Address[strings.LastIndexByte(m.from.Address, '@')+1:]
		return "<" + hex.EncodeToString(b[:]) + "@" + domain + ">", nil
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	left, right, ok := strings.Cut(inner, "@")
	if !ok || left == "" || right == "" || strings.ContainsFunc(inner, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || r == '<' || r == '>'
	}) || strings.Contains(right, "@") {
		return "", fmt.Errorf("%q is not a message id like <id@domain>", id)
	}
	return "<" + inner + ">", nil
}

// checkFieldName accepts an RFC 5322 field name: printable ASCII except the colon.
func checkFieldName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return errors.New("not a header field name (printable ASCII without a colon)")
		}
	}
	return nil
}

// foldHeader writes "Name: value", breaking lines before spaces so that each stays within
// foldWidth where the words allow it. Folding only inserts CRLF before a space that is
// there already, so unfolding gives back the value unchanged.
func foldHeader(name, value string) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString(":")
	lineLen, lineHasWord := len(name)+1, false
	for word := range strings.SplitSeq(value, " ") {
		if lineHasWord && lineLen+1+len(word) > foldWidth {
			b.WriteString("\r\n")
			lineLen, lineHasWord = 0, false
		}
		b.WriteString(" ")
		b.WriteString(word)
		lineLen += 1 + len(word)
		lineHasWord = lineHasWord || word != "" // a line of spaces alone may not end a fold
	}
	return b.String()
}
