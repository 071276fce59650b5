package activities

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	netsmtp "net/smtp"
	"net/textproto"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// mailRecorder is an SMTP backend that keeps what clients send it.
type mailRecorder struct {
	requireAuth bool
	// mechs are the AUTH mechanisms offered, PLAIN and LOGIN known; nil offers PLAIN.
	mechs []string
	// rcptErr, when set, answers RCPT TO; dataErr answers the end of DATA.
	rcptErr func(to string) error
	dataErr error

	mu        sync.Mutex
	auths     []recordedAuth
	authMechs []string // the mechanism of each of auths
	mails     []recordedMail
	helos     []string // the EHLO name in force at each MAIL FROM
}

type recordedAuth struct {
	User, Pass string
	TLS        bool
}

type recordedMail struct {
	From string
	To   []string
	Data []byte
	TLS  bool
}

func (r *mailRecorder) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &mailSession{rec: r, conn: c}, nil
}

// mechsAndHelos are the AUTH mechanisms clients used and the EHLO names they gave.
func (r *mailRecorder) mechsAndHelos() ([]string, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.authMechs), slices.Clone(r.helos)
}

func (r *mailRecorder) recorded() ([]recordedAuth, []recordedMail) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.auths), slices.Clone(r.mails)
}

type mailSession struct {
	rec    *mailRecorder
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
}

func (s *mailSession) isTLS() bool {
	_, ok := s.conn.TLSConnectionState()
	return ok
}

func (s *mailSession) AuthMechanisms() []string {
	if s.rec.mechs == nil {
		return []string{sasl.Plain}
	}
	return s.rec.mechs
}

func (s *mailSession) Auth(mech string) (sasl.Server, error) {
	if !slices.Contains(s.AuthMechanisms(), mech) {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	record := func(username, password string) error {
		s.rec.mu.Lock()
		s.rec.auths = append(s.rec.auths, recordedAuth{User: username, Pass: password, TLS: s.isTLS()})
		s.rec.authMechs = append(s.rec.authMechs, mech)
		s.rec.mu.Unlock()
		s.authed = true
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error { return record(username, password) }), nil
	case sasl.Login:
		return &loginServer{done: record}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// loginServer is the server side of AUTH LOGIN, which go-sasl does not have: it prompts
// "Username:" and "Password:" as Exchange does, and takes a user name given with the
// command as well.
type loginServer struct {
	user  *string
	done  func(user, pass string) error
	asked bool
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch {
	case l.user == nil && response == nil && !l.asked:
		l.asked = true
		return []byte("Username:"), false, nil
	case l.user == nil:
		u := string(response)
		l.user = &u
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.done(*l.user, string(response))
	}
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.rec.requireAuth && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	s.rec.mu.Lock()
	s.rec.helos = append(s.rec.helos, s.conn.Hostname())
	s.rec.mu.Unlock()
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.rec.rcptErr != nil {
		if err := s.rec.rcptErr(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.rec.dataErr != nil {
		return s.rec.dataErr
	}
	s.rec.mu.Lock()
	s.rec.mails = append(s.rec.mails, recordedMail{From: s.from, To: s.to, Data: b, TLS: s.isTLS()})
	s.rec.mu.Unlock()
	return nil
}

func (s *mailSession) Reset()        { s.from, s.to = "", nil }
func (s *mailSession) Logout() error { return nil }

type mailServerOptions struct {
	// startTLS offers STARTTLS with this certificate; implicitTLS speaks TLS from the start.
	startTLS, implicitTLS *tls.Certificate
	// insecureAuth lets the server take AUTH without TLS, so that a test can see whether the
	// client chose TLS itself.
	insecureAuth bool
}

// startMailServer runs an SMTP server on a random loopback port and returns its port.
func startMailServer(t *testing.T, rec *mailRecorder, opts mailServerOptions) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := smtp.NewServer(rec)
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.AllowInsecureAuth = opts.insecureAuth
	s.ErrorLog = log.New(io.Discard, "", 0)
	if opts.startTLS != nil {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*opts.startTLS}}
	}
	if opts.implicitTLS != nil {
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{*opts.implicitTLS}})
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// selfSignedMailCert makes a certificate for 127.0.0.1 and ::1 and a pool that trusts it.
func selfSignedMailCert(t *testing.T) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "hookflow test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

func newTestMailer(t *testing.T, smtpURL string) *Mailer {
	t.Helper()
	m, err := NewMailer(smtpURL, "Hookflow <hookflow@example.com>", "")
	if err != nil {
		t.Fatal(err)
	}
	m.Timeout = 10 * time.Second
	return m
}

func TestMailPlainDelivery(t *testing.T) {
	rec := &mailRecorder{}
	port := startMailServer(t, rec, mailServerOptions{})
	m := newTestMailer(t, "smtp://127.0.0.1:"+port)

	long := strings.Repeat("Zürich–Δ ", 20) // longer than a quoted-printable line
	text := "Grüße aus Köln 👋\nDelivery whs_1 failed: HTTP 500.\n.a line that starts with a dot\n" + long + "\r\nend"
	msg := Mail{
		To:        []string{"Ops Team <ops@example.com>", "Zoë Ünal <zoe@example.org>", "ops@example.com"},
		Subject:   "Delivery failed — Zahlung fällig für «Frühling» " + strings.Repeat("ü", 40),
		Text:      text,
		MessageID: "<whs_0a1b2c@hookflow>",
		Headers:   map[string]string{"Auto-Submitted": "auto-generated", "x-hookflow-delivery": "whs_0a1b2c"},
	}
	before := time.Now().Add(-time.Second)
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	auths, mails := rec.recorded()
	if len(auths) != 0 {
		t.Errorf("AUTH without credentials: %+v", auths)
	}
	if len(mails) != 1 {
		t.Fatalf("got %d messages, want 1", len(mails))
	}
	got := mails[0]
	if got.From != "hookflow@example.com" {
		t.Errorf("MAIL FROM %q", got.From)
	}
	if want := []string{"ops@example.com", "zoe@example.org"}; fmt.Sprint(got.To) != fmt.Sprint(want) {
		t.Errorf("RCPT TO %q, want %q (duplicates once)", got.To, want)
	}
	if got.TLS {
		t.Error("TLS on a server that offers no STARTTLS")
	}

	raw := got.Data
	if !bytes.HasSuffix(raw, []byte("\r\n")) {
		t.Error("message does not end with CRLF")
	}
	head, rawBody, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for i, line := range strings.Split(strings.TrimSuffix(string(raw), "\r\n"), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i, line)
		}
		if len(line) > maxHeaderLine {
			t.Errorf("line %d is %d characters long", i, len(line))
		}
	}
	for line := range strings.SplitSeq(string(rawBody), "\r\n") {
		if len(line) > 76 {
			t.Errorf("quoted-printable line longer than 76: %q", line)
		}
	}
	if !strings.Contains(string(head), "\r\n =?utf-8?q?") {
		t.Errorf("long Subject not folded:\n%s", head)
	}
	for _, b := range head {
		if b >= 0x80 {
			t.Fatalf("header is not ASCII:\n%s", head)
		}
	}

	parsed, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := parsed.Header
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Hookflow" || from[0].Address != "hookflow@example.com" {
		t.Errorf("From %q: %v %v", h.Get("From"), from, err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Name != "Ops Team" || to[1].Name != "Zoë Ünal" || to[1].Address != "zoe@example.org" {
		t.Errorf("To %q: %v %v", h.Get("To"), to, err)
	}
	dec := new(mime.WordDecoder)
	if !strings.Contains(h.Get("Subject"), "=?utf-8?q?") {
		t.Errorf("Subject not RFC 2047 encoded: %q", h.Get("Subject"))
	}
	if subj, err := dec.DecodeHeader(h.Get("Subject")); err != nil || subj != msg.Subject {
		t.Errorf("Subject decodes to %q (%v), want %q", subj, err, msg.Subject)
	}
	date, err := h.Date()
	if err != nil || date.Before(before) || date.After(time.Now().Add(time.Second)) {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	wantHeaders := map[string]string{
		"Message-ID":                "<whs_0a1b2c@hookflow>",
		"MIME-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
		"Auto-Submitted":            "auto-generated",
		"X-Hookflow-Delivery":       "whs_0a1b2c",
	}
	for name, want := range wantHeaders {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	body, err := io.ReadAll(quotedprintable.NewReader(parsed.Body))
	if err != nil {
		t.Fatal(err)
	}
	// Every line of a message ends in CRLF, the last one too.
	wantBody := strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n") + "\r\n"
	if string(body) != wantBody {
		t.Errorf("body decodes to\n%q\nwant\n%q", body, wantBody)
	}

	// A resend of the same notification is the same message to a mail client.
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	_, mails = rec.recorded()
	again, err := mail.ReadMessage(bytes.NewReader(mails[1].Data))
	if err != nil {
		t.Fatal(err)
	}
	if again.Header.Get("Message-ID") != h.Get("Message-ID") {
		t.Errorf("resend has Message-ID %q, first %q", again.Header.Get("Message-ID"), h.Get("Message-ID"))
	}
}

func TestMailMessageIDs(t *testing.T) {
	m, err := NewMailer("smtp://mail.example.com", "hookflow@alerts.example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ given, want string }{
		{"<whs_1@hookflow>", "<whs_1@hookflow>"},
		{"whs_1@hookflow", "<whs_1@hookflow>"},
	}
	for _, tt := range tests {
		if got, err := m.messageID(tt.given); err != nil || got != tt.want {
			t.Errorf("messageID(%q) = %q, %v; want %q", tt.given, got, err, tt.want)
		}
	}
	a, _ := m.messageID("")
	b, _ := m.messageID("")
	if a == b || !strings.HasPrefix(a, "<") || !strings.HasSuffix(a, "@alerts.example.com>") {
		t.Errorf("generated ids %q, %q: want distinct <random@alerts.example.com>", a, b)
	}
	for _, bad := range []string{"<no-at-sign>", "<a b@c>", "<a@b@c>", "<@c>", "<é@c>"} {
		if _, err := m.messageID(bad); err == nil {
			t.Errorf("messageID(%q) accepted", bad)
		}
	}
}

func TestMailSTARTTLSAndAuth(t *testing.T) {
	cert, pool := selfSignedMailCert(t)
	rec := &mailRecorder{requireAuth: true}
	// The server would take AUTH in plain text: the test shows that the client upgrades
	// to TLS before it sends the password.
	port := startMailServer(t, rec, mailServerOptions{startTLS: cert, insecureAuth: true})

	t.Run("trusted certificate", func(t *testing.T) {
		m := newTestMailer(t, "smtp://alice%40corp:p%40ss%3Aw%2Frd@127.0.0.1:"+port)
		m.TLSConfig = &tls.Config{RootCAs: pool}
		if err := m.Send(context.Background(), Mail{To: []string{"ops@example.com"}, Subject: "s", Text: "t"}); err != nil {
			t.Fatal(err)
		}
		auths, mails := rec.recorded()
		if len(auths) != 1 || auths[0] != (recordedAuth{User: "alice@corp", Pass: "p@ss:w/rd", TLS: true}) {
			t.Errorf("AUTH %+v, want alice@corp / p@ss:w/rd over TLS", auths)
		}
		if len(mails) != 1 || !mails[0].TLS {
			t.Errorf("mails %+v, want one over TLS", mails)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		m := newTestMailer(t, "smtp://bob:secret@127.0.0.1:"+port) // system roots
		err := m.Send(context.Background(), Mail{To: []string{"ops@example.com"}, Subject: "s", Text: "t"})
		if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("got %v, want a STARTTLS error", err)
		}
		if IsPermanentMailError(err) {
			t.Errorf("certificate error counted permanent: %v", err)
		}
		if auths, _ := rec.recorded(); len(auths) != 1 {
			t.Errorf("credentials sent after a failed TLS handshake: %+v", auths)
		}
	})
}

func TestMailImplicitTLS(t *testing.T) {
	cert, pool := selfSignedMailCert(t)
	rec := &mailRecorder{requireAuth: true}
	port := startMailServer(t, rec, mailServerOptions{implicitTLS: cert})
	m := newTestMailer(t, "smtps://carol:pw@127.0.0.1:"+port)
	m.TLSConfig = &tls.Config{RootCAs: pool}
	if err := m.Send(context.Background(), Mail{To: []string{"ops@example.com"}, Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	auths, mails := rec.recorded()
	if len(auths) != 1 || auths[0] != (recordedAuth{User: "carol", Pass: "pw", TLS: true}) {
		t.Errorf("AUTH %+v", auths)
	}
	if len(mails) != 1 || !mails[0].TLS {
		t.Errorf("mails %+v, want one over TLS", mails)
	}
}

func TestMailAuthNeedsEncryption(t *testing.T) {
	rec := &mailRecorder{requireAuth: true}
	port := startMailServer(t, rec, mailServerOptions{insecureAuth: true}) // no STARTTLS
	mailTo := Mail{To: []string{"ops@example.com"}, Subject: "s", Text: "t"}

	// On loopback, as smtp.PlainAuth allows, credentials may go in plain text.
	m := newTestMailer(t, "smtp://dave:pw@127.0.0.1:"+port)
	if err := m.Send(context.Background(), mailTo); err != nil {
		t.Fatal(err)
	}
	if auths, _ := rec.recorded(); len(auths) != 1 || auths[0].TLS {
		t.Fatalf("AUTH %+v, want one in plain text on loopback", auths)
	}

	// Anywhere else they may not. The dialer still connects to loopback only.
	m = newTestMailer(t, "smtp://erin:pw@mail.example.com:587")
	m.dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return new(net.Dialer).DialContext(ctx, network, "127.0.0.1:"+port)
	}
	err := m.Send(context.Background(), mailTo)
	if err == nil || !strings.Contains(err.Error(), "unencrypted") || !IsPermanentMailError(err) {
		t.Fatalf("got %v, want a permanent refusal to authenticate in plain text", err)
	}
	if strings.Contains(err.Error(), "pw") {
		t.Errorf("error shows the password: %v", err)
	}
	auths, mails := rec.recorded()
	if len(auths) != 1 || len(mails) != 1 {
		t.Errorf("credentials or mail sent: %+v %d", auths, len(mails))
	}
}

// TestMailAuthMechanisms: PLAIN when the server offers it, LOGIN when it offers only that
// (Exchange Online, Outlook.com), and a permanent error naming both sides otherwise.
func TestMailAuthMechanisms(t *testing.T) {
	cert, pool := selfSignedMailCert(t)
	mailTo := Mail{To: []string{"ops@example.com"}, Subject: "s", Text: "t"}
	for _, tt := range []struct {
		offered []string
		want    string // the mechanism used
	}{
		{[]string{sasl.Login}, sasl.Login},
		{[]string{sasl.Login, sasl.Plain}, sasl.Plain},
		{[]string{sasl.Plain}, sasl.Plain},
	} {
		t.Run(strings.Join(tt.offered, " "), func(t *testing.T) {
			rec := &mailRecorder{requireAuth: true, mechs: tt.offered}
			port := startMailServer(t, rec, mailServerOptions{startTLS: cert})
			m := newTestMailer(t, "smtp://frank%40corp:p%40ss%3Aw%2Frd@127.0.0.1:"+port)
			m.TLSConfig = &tls.Config{RootCAs: pool}
			if err := m.Send(context.Background(), mailTo); err != nil {
				t.Fatal(err)
			}
			auths, mails := rec.recorded()
			mechs, _ := rec.mechsAndHelos()
			if len(auths) != 1 || auths[0] != (recordedAuth{User: "frank@corp", Pass: "p@ss:w/rd", TLS: true}) || !slices.Equal(mechs, []string{tt.want}) {
				t.Errorf("AUTH %+v with %v, want frank@corp / p@ss:w/rd over TLS with %s", auths, mechs, tt.want)
			}
			if len(mails) != 1 || !slices.Equal(mails[0].To, []string{"ops@example.com"}) {
				t.Errorf("mails %+v, want one to ops@example.com", mails)
			}
		})
	}

	for _, tt := range []struct {
		offered []string
		want    []string // in the error
	}{
		{[]string{"CRAM-MD5", "XOAUTH2"}, []string{"offers AUTH CRAM-MD5 XOAUTH2", "supports PLAIN and LOGIN"}},
		{[]string{}, []string{"offers no AUTH", "PLAIN and LOGIN"}},
	} {
		t.Run(fmt.Sprintf("offers %q", tt.offered), func(t *testing.T) {
			rec := &mailRecorder{requireAuth: true, mechs: tt.offered}
			port := startMailServer(t, rec, mailServerOptions{startTLS: cert})
			m := newTestMailer(t, "smtp://grace:pw@127.0.0.1:"+port)
			m.TLSConfig = &tls.Config{RootCAs: pool}
			err := m.Send(context.Background(), mailTo)
			if err == nil || !IsPermanentMailError(err) {
				t.Fatalf("got %v, want a permanent error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if auths, mails := rec.recorded(); len(auths) != 0 || len(mails) != 0 {
				t.Errorf("authenticated or sent: %+v %+v", auths, mails)
			}
		})
	}
}

// TestMailLoginNeedsEncryption: AUTH LOGIN keeps PLAIN's rule, no password in plain text
// except to loopback.
func TestMailLoginNeedsEncryption(t *testing.T) {
	rec := &mailRecorder{requireAuth: true, mechs: []string{sasl.Login}}
	port := startMailServer(t, rec, mailServerOptions{insecureAuth: true}) // no STARTTLS
	mailTo := Mail{To: []string{"ops@example.com"}, Subject: "s", Text: "t"}

	m := newTestMailer(t, "smtp://heidi:pw@127.0.0.1:"+port)
	if err := m.Send(context.Background(), mailTo); err != nil {
		t.Fatal(err)
	}
	if auths, _ := rec.recorded(); len(auths) != 1 || auths[0] != (recordedAuth{User: "heidi", Pass: "pw"}) {
		t.Fatalf("AUTH %+v, want heidi / pw in plain text on loopback", auths)
	}

	m = newTestMailer(t, "smtp://ivan:pw@mail.example.com:587")
	m.dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return new(net.Dialer).DialContext(ctx, network, "127.0.0.1:"+port)
	}
	err := m.Send(context.Background(), mailTo)
	if err == nil || !strings.Contains(err.Error(), "unencrypted") || !IsPermanentMailError(err) {
		t.Fatalf("got %v, want a permanent refusal to authenticate in plain text", err)
	}
	if auths, mails := rec.recorded(); len(auths) != 1 || len(mails) != 1 {
		t.Errorf("credentials or mail sent: %+v %d", auths, len(mails))
	}

	// The Auth itself refuses too, as smtp.PlainAuth does, should it ever be reached.
	for _, si := range []netsmtp.ServerInfo{{Name: "mail.example.com"}, {Name: "127.0.0.1", TLS: true}} {
		a := &loginAuth{user: "ivan", pass: "pw", host: "mail.example.com"}
		if _, _, err := a.Start(&si); err == nil {
			t.Errorf("loginAuth.Start(%+v) accepted", si)
		}
	}
}

// TestMailHelo: the server sees the EHLO name given with --smtp-helo, before and after
// STARTTLS, and this machine's host name by default.
func TestMailHelo(t *testing.T) {
	cert, pool := selfSignedMailCert(t)
	rec := &mailRecorder{}
	port := startMailServer(t, rec, mailServerOptions{startTLS: cert})
	mailTo := Mail{To: []string{"ops@example.com"}, Subject: "s", Text: "t"}
	for _, helo := range []string{"relay.example.net", "[192.0.2.7]", ""} {
		m, err := NewMailer("smtp://127.0.0.1:"+port, "hookflow@example.com", helo)
		if err != nil {
			t.Fatal(err)
		}
		m.TLSConfig = &tls.Config{RootCAs: pool}
		if err := m.Send(context.Background(), mailTo); err != nil {
			t.Fatal(err)
		}
	}
	host, err := os.Hostname()
	if err != nil || !validDomain(host) {
		host = "localhost"
	}
	if _, helos := rec.mechsAndHelos(); !slices.Equal(helos, []string{"relay.example.net", "[192.0.2.7]", host}) {
		t.Errorf("EHLO names %q, want relay.example.net, [192.0.2.7], %s", helos, host)
	}
	if DefaultHelo() != host {
		t.Errorf("DefaultHelo() = %q, want %q", DefaultHelo(), host)
	}

	for _, bad := range []string{"local host", "a_b.example.com", "-a.example.com", "mail..example.com", "x\r\nRCPT TO:<y>",
		"[10.0.0.1", "[::1]", "[IPv6:10.0.0.1]", "[300.0.0.1]", strings.Repeat("a", 64) + ".com"} {
		_, err := NewMailer("smtp://127.0.0.1:25", "hookflow@example.com", bad)
		if err == nil || !strings.Contains(err.Error(), "--smtp-helo") {
			t.Errorf("--smtp-helo %q: %v, want an error naming --smtp-helo", bad, err)
		}
	}
	for _, good := range []string{"localhost", "mail.example.com.", "[IPv6:2001:db8::1]", "xn--bcher-kva.example"} {
		if _, err := NewMailer("smtp://127.0.0.1:25", "hookflow@example.com", good); err != nil {
			t.Errorf("--smtp-helo %q: %v", good, err)
		}
	}
}

func TestMailServerReplies(t *testing.T) {
	smtpErr := func(code int, msg string) error {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: msg}
	}
	tests := []struct {
		name      string
		rec       *mailRecorder
		url       string
		wantIn    string
		permanent bool
	}{
		{
			name: "550 on one RCPT",
			rec: &mailRecorder{rcptErr: func(to string) error {
				if to == "nobody@example.com" {
					return smtpErr(550, "no such user")
				}
				return nil
			}},
			wantIn: "RCPT TO <nobody@example.com>: 550", permanent: true,
		},
		{
			name:   "451 on RCPT",
			rec:    &mailRecorder{rcptErr: func(string) error { return smtpErr(451, "greylisted, try later") }},
			wantIn: "RCPT TO <ops@example.com>: 451", permanent: false,
		},
		{
			name:   "554 after DATA",
			rec:    &mailRecorder{dataErr: smtpErr(554, "spam")},
			wantIn: "DATA: 554", permanent: true,
		},
		{
			name:   "452 after DATA",
			rec:    &mailRecorder{dataErr: smtpErr(452, "mailbox full")},
			wantIn: "DATA: 452", permanent: false,
		},
		{
			name:   "authentication required",
			rec:    &mailRecorder{requireAuth: true},
			wantIn: "MAIL FROM: 502", permanent: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := startMailServer(t, tt.rec, mailServerOptions{})
			m := newTestMailer(t, "smtp://127.0.0.1:"+port)
			err := m.Send(context.Background(), Mail{To: []string{"ops@example.com", "nobody@example.com"}, Subject: "s", Text: "t"})
			if err == nil || !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("got %v, want an error with %q", err, tt.wantIn)
			}
			if got := IsPermanentMailError(err); got != tt.permanent {
				t.Errorf("IsPermanentMailError(%v) = %v, want %v", err, got, tt.permanent)
			}
			if _, mails := tt.rec.recorded(); len(mails) != 0 {
				t.Errorf("%d messages delivered despite the error", len(mails))
			}
		})
	}
}

func TestMailServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	m := newTestMailer(t, "smtp://127.0.0.1:"+port)
	err = m.Send(context.Background(), Mail{To: []string{"ops@example.com"}, Subject: "s", Text: "t"})
	if err == nil || !strings.Contains(err.Error(), "connect") {
		t.Fatalf("got %v, want a connect error", err)
	}
	if IsPermanentMailError(err) {
		t.Errorf("a refused connection counted permanent: %v", err)
	}
}

func TestMailRefusesBadMessagesBeforeConnecting(t *testing.T) {
	ok := func() Mail {
		return Mail{To: []string{"ops@example.com"}, Subject: "s", Text: "t", Headers: map[string]string{}}
	}
	many := make([]string, MaxMailRecipients+1)
	for i := range many {
		many[i] = fmt.Sprintf("ops%d@example.com", i)
	}
	tests := []struct {
		name   string
		edit   func(*Mail)
		wantIn string
	}{
		{"CRLF in Subject", func(m *Mail) { m.Subject = "hi\r\nBcc: victim@example.net" }, "Subject: contains a line break"},
		{"LF in Subject", func(m *Mail) { m.Subject = "hi\nBcc: victim@example.net" }, "Subject: contains a line break"},
		{"CR in Subject", func(m *Mail) { m.Subject = "hi\rX: y" }, "Subject: contains a line break"},
		{"CRLF in To", func(m *Mail) { m.To = []string{"ops@example.com\r\nBcc: victim@example.net"} }, "line break"},
		{"LF in a display name", func(m *Mail) { m.To = []string{"Ops\n <ops@example.com>"} }, "line break"},
		{"CRLF in a header value", func(m *Mail) { m.Headers["X-Note"] = "a\r\nBcc: victim@example.net" }, "header X-Note: contains a line break"},
		{"LF in a header name", func(m *Mail) { m.Headers["X-A\nBcc"] = "v" }, "not a header field name"},
		{"colon in a header name", func(m *Mail) { m.Headers["Bcc: victim@example.net\r\nX"] = "v" }, "not a header field name"},
		{"space in a header name", func(m *Mail) { m.Headers["X Note"] = "v" }, "not a header field name"},
		{"header replaces From", func(m *Mail) { m.Headers["from"] = "evil@example.net" }, "set by the mailer itself"},
		{"header replaces Content-Type", func(m *Mail) { m.Headers["Content-Type"] = "text/html" }, "set by the mailer itself"},
		{"CRLF in Message-ID", func(m *Mail) { m.MessageID = "<a@b>\r\nBcc: victim@example.net" }, "Message-ID: contains a line break"},
		{"bad Message-ID", func(m *Mail) { m.MessageID = "no id" }, "Message-ID"},
		{"no recipients", func(m *Mail) { m.To = nil }, "no recipients"},
		{"too many recipients", func(m *Mail) { m.To = many }, "51 recipients, at most 50"},
		{"not an address", func(m *Mail) { m.To = []string{"ops@example.com", "not-an-address"} }, `"not-an-address" is not an e-mail address`},
		{"address beyond ASCII", func(m *Mail) { m.To = []string{"zoë@example.com"} }, `"zoë@example.com"`},
		{"a header line too long to fold", func(m *Mail) { m.Headers["X-Long"] = strings.Repeat("a", 1000) }, "cannot be folded"},
	}
	m := newTestMailer(t, "smtp://127.0.0.1:25")
	m.dial = func(context.Context, string, string) (net.Conn, error) {
		t.Error("dialled for a message that should have been refused")
		return nil, errors.New("no dialling in this test")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := ok()
			tt.edit(&msg)
			err := m.Send(context.Background(), msg)
			if err == nil || !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("got %v, want an error with %q", err, tt.wantIn)
			}
			if !IsPermanentMailError(err) {
				t.Errorf("not permanent: %v", err)
			}
		})
	}
}

func TestNewMailer(t *testing.T) {
	valid := []struct {
		url                string
		host, port         string
		implicitTLS        bool
		user, pass, string string
	}{
		{"smtp://mail.example.com", "mail.example.com", "587", false, "", "", "smtp://mail.example.com:587"},
		{"smtp://mail.example.com/", "mail.example.com", "587", false, "", "", "smtp://mail.example.com:587"},
		{"smtps://mail.example.com", "mail.example.com", "465", true, "", "", "smtps://mail.example.com:465"},
		{"SMTP://a%40b:s3cr3t%2F%3F%23%25@mail.example.com:2525", "mail.example.com", "2525", false, "a@b", "s3cr3t/?#%", "smtp://a%40b@mail.example.com:2525"},
		{"smtps://u:s3cr3t@[::1]:1465", "::1", "1465", true, "u", "s3cr3t", "smtps://u@[::1]:1465"},
	}
	for _, tt := range valid {
		m, err := NewMailer(tt.url, "Hookflow <hookflow@example.com>", "")
		if err != nil {
			t.Errorf("NewMailer(%q): %v", tt.url, err)
			continue
		}
		if m.host != tt.host || m.port != tt.port || m.implicitTLS != tt.implicitTLS || m.user != tt.user || m.pass != tt.pass {
			t.Errorf("NewMailer(%q) = %s:%s tls=%v %q:%q", tt.url, m.host, m.port, m.implicitTLS, m.user, m.pass)
		}
		want := tt.string + ` from "Hookflow" <hookflow@example.com>`
		if s := m.String(); s != want || fmt.Sprintf("%+v", m) != want {
			t.Errorf("String() = %q, want %q", s, want)
		}
	}

	badURLs := []string{
		"",
		"   ",
		"http://u:s3cr3t@mail.example.com",
		"u:s3cr3t@mail.example.com",
		"smtp:u:s3cr3t@mail.example.com",
		"smtp://u:s3cr3t@",
		"smtp://u:s3cr3t@:587",
		"smtp://u:s3cr3t@mail.example.com:0",
		"smtp://u:s3cr3t@mail.example.com:65536",
		"smtp://u:s3cr3t@mail.example.com:port",
		"smtp://u:s3cr3t@mail.example.com/path",
		"smtp://u:s3cr3t@mail.example.com?insecure_skip_verify=true",
		"smtp://u:s3cr3t@mail.example.com?",
		"smtp://u:s3cr3t@mail.example.com#",
		"smtp://u:s3cr3t%zz@mail.example.com",
		"smtp://u:s3cr3t/x@mail.example.com",
		"smtp://u:s3/cr3t@mail.example.com",
		"smtp://u:s3cr3t?x@mail.example.com",
		"smtp://u:s3cr3t#x@mail.example.com",
		"smtp://u:s3cr3t@[::1",
		"smtp://u:s3cr3t@mail example.com",
		"smtp://:s3cr3t@mail.example.com",
		"smtp://u@mail.example.com",
		" smtp://u:s3cr3t@mail.example.com",
		"smtp://u:s3cr3t\n@mail.example.com",
	}
	for _, raw := range badURLs {
		_, err := NewMailer(raw, "hookflow@example.com", "")
		if err == nil {
			t.Errorf("NewMailer(%q) accepted", raw)
			continue
		}
		if !strings.Contains(err.Error(), "--smtp-url") {
			t.Errorf("NewMailer(%q): %v does not name --smtp-url", raw, err)
		}
		for _, piece := range []string{"s3cr3t", "cr3t", "s3"} {
			if strings.Contains(err.Error(), piece) {
				t.Errorf("NewMailer(%q): %v shows the password", raw, err)
			}
		}
	}

	for _, from := range []string{"", "hookflow", "hookflow@example.com\r\nBcc: victim@example.net", "<>", "a@b, c@d", "zoë@example.com"} {
		_, err := NewMailer("smtp://u:s3cr3t@mail.example.com", from, "")
		if err == nil || !strings.Contains(err.Error(), "--smtp-from") || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("NewMailer(from %q): %v, want an error naming --smtp-from", from, err)
		}
	}
}

// silentMailServer accepts connections and never says a word, like a server that hangs
// before its greeting.
func silentMailServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// TestMailGivesUpOnSilentServer: a server that accepts and never answers holds Send only
// until the context or the Mailer's timeout ends; the error says which, and is temporary.
func TestMailGivesUpOnSilentServer(t *testing.T) {
	port := silentMailServer(t)
	msg := Mail{To: []string{"ops@example.com"}, Subject: "s", Text: "t"}
	tests := []struct {
		name    string
		scheme  string
		timeout time.Duration // the Mailer's
		ctx     func() (context.Context, context.CancelFunc)
		want    error
	}{
		{"context deadline", "smtp", 0, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		}, context.DeadlineExceeded},
		{"context deadline during the TLS handshake", "smtps", 0, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		}, context.DeadlineExceeded},
		{"context cancelled", "smtp", 0, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"the Mailer's timeout", "smtp", 200 * time.Millisecond, func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMailer(t, tt.scheme+"://127.0.0.1:"+port)
			if tt.timeout > 0 {
				m.Timeout = tt.timeout
			}
			ctx, cancel := tt.ctx()
			defer cancel()
			err := m.Send(ctx, msg)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			if IsPermanentMailError(err) {
				t.Errorf("a timeout counted permanent: %v", err)
			}
		})
	}
}

func TestIsPermanentMailError(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("boom"), false},
		{context.DeadlineExceeded, false},
		{fmt.Errorf("RCPT: %w", &textproto.Error{Code: 550}), true},
		{fmt.Errorf("RCPT: %w", &textproto.Error{Code: 421}), false},
		{permanentMailError{errors.New("bad")}, true},
	}
	for _, tt := range tests {
		if got := IsPermanentMailError(tt.err); got != tt.want {
			t.Errorf("IsPermanentMailError(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
