package e2e

import (
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/hookflow/hookflow/workflows"
)

// mailbox is an in-process SMTP server that keeps the messages it accepted. Its first RCPT
// can be held until released, to stop hookflow while an e-mail is being sent. (Held at
// DATA, the whole message would already be in the server's buffer: SMTP cannot tell a
// client that died after sending it from one that did not, and the retry would be a second
// copy with the same Message-ID. hookflow's guarantee is one e-mail unless the crash
// falls in that last round trip.)
type mailbox struct {
	addr string
	mu   sync.Mutex
	msgs []receivedMail
	// hold, when set, is closed to let the first DATA proceed; started is closed when it
	// began waiting.
	hold, started chan struct{}
	holds         int
}

type receivedMail struct {
	from string
	to   []string
	msg  *mail.Message
	body string
}

func newMailbox(t *testing.T, holdFirst bool) *mailbox {
	t.Helper()
	mb := &mailbox{}
	if holdFirst {
		mb.hold, mb.started = make(chan struct{}), make(chan struct{})
	}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSession{mb: mb}, nil }))
	s.Domain = "mail.test"
	s.ReadTimeout, s.WriteTimeout = 30*time.Second, 30*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = l.Addr().String()
	go s.Serve(l)
	t.Cleanup(func() {
		if mb.hold != nil {
			select {
			case <-mb.hold:
			default:
				close(mb.hold)
			}
		}
		s.Close()
	})
	return mb
}

func (mb *mailbox) messages() []receivedMail {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]receivedMail(nil), mb.msgs...)
}

type mailSession struct {
	mb   *mailbox
	from string
	to   []string
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.mb.mu.Lock()
	first := s.mb.hold != nil && s.mb.holds == 0
	s.mb.holds++
	s.mb.mu.Unlock()
	if first {
		close(s.mb.started)
		<-s.mb.hold
	}
	s.to = append(s.to, to)
	return nil
}
func (s *mailSession) Reset()        { s.from, s.to = "", nil }
func (s *mailSession) Logout() error { return nil }

func (s *mailSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err // the client went away mid-message: nothing was delivered
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	s.mb.mu.Lock()
	s.mb.msgs = append(s.mb.msgs, receivedMail{from: s.from, to: s.to, msg: msg, body: string(body)})
	s.mb.mu.Unlock()
	return nil
}

func failingDelivery(t *testing.T, d *devProcess, eventID string) (distributionOut, *receiver) {
	t.Helper()
	recv := newReceiver(t, 503)
	distr := createDistribution(t, d, recv.URL, []string{"200ms"})
	runCLI(t, d, "settings", "notifications", "--email", "--recipients", "ops@example.com,oncall@example.com")
	sendEvent(t, d, eventID)
	return distr, recv
}

// TestDevFailureEmail: a delivery that exhausts its retries sends one e-mail, through a
// real SMTP server, to the configured recipients, naming what failed.
func TestDevFailureEmail(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	mb := newMailbox(t, false)
	d := startDev(t, t.TempDir(), nil, "--smtp-url", "smtp://"+mb.addr, "--smtp-from", "hookflow@example.com")
	distr, _ := failingDelivery(t, d, "evt_mail_1")
	var res workflows.DeliveryResult
	waitWorkflow(t, d.client(t), "event/evt_mail_1", 60*time.Second, &res)
	msgs := mb.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d e-mails, want 1", len(msgs))
	}
	m := msgs[0]
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.msg.Header.Get("Subject"))
	if m.from != "hookflow@example.com" || strings.Join(m.to, ",") != "ops@example.com,oncall@example.com" ||
		!strings.Contains(subject, "Paid orders") || !strings.Contains(subject, "HTTP 503") {
		t.Errorf("envelope from %s to %v, subject %q", m.from, m.to, subject)
	}
	for _, want := range []string{distr.ID, "evt_mail_1", "customer.order.paid", "POSTs made:    2", "HTTP 503", "paused",
		"hookflow distributions resume " + distr.ID, "hookflow distributions recover " + distr.ID + " --since 20",
		res.Deliveries[0].DeliveryID, "/workflows/event%2Fevt_mail_1"} {
		if !strings.Contains(m.body, want) {
			t.Errorf("the e-mail does not say %q:\n%s", want, m.body)
		}
	}
	if id := m.msg.Header.Get("Message-Id"); id != fmt.Sprintf("<%s@hookflow>", res.Deliveries[0].DeliveryID) {
		t.Errorf("Message-ID %q", id)
	}
}

// TestDevFailureEmailAfterCrash stops hookflow (SIGKILL) while the failure e-mail is being
// sent, starts it again, and still sees exactly one e-mail and one in-app notification.
func TestDevFailureEmailAfterCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	mb := newMailbox(t, true)
	dir := t.TempDir()
	args := []string{"--smtp-url", "smtp://" + mb.addr, "--smtp-from", "hookflow@example.com"}
	d := startDev(t, dir, nil, args...)
	failingDelivery(t, d, "evt_mail_crash")
	select {
	case <-mb.started:
	case <-time.After(60 * time.Second):
		t.Fatal("the failure e-mail never started")
	}
	d.stop(syscall.SIGKILL, 30*time.Second)
	close(mb.hold) // the held session's client is gone: that message never comes

	d2 := startDev(t, dir, d, args...)
	var res workflows.DeliveryResult
	// The e-mail activity is retried after its 20 s timeout.
	waitWorkflow(t, d2.client(t), "event/evt_mail_crash", 90*time.Second, &res)
	if n := len(mb.messages()); n != 1 {
		t.Errorf("%d e-mails after the crash, want exactly 1", n)
	}
	var l struct {
		Total int `json:"total"`
	}
	_, body := call(t, "GET", d2.api+"/v1/notifications", nil)
	mustJSON(t, body, &l)
	if l.Total != 1 {
		t.Errorf("%d in-app notifications after the crash, want exactly 1", l.Total)
	}
}
