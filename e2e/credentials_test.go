package e2e

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDevShowsNoCredential runs `hookflow dev` with a password in every URL it takes (the
// store's database, from HOOKFLOW_DATABASE_URL; Temporal's, from
// HOOKFLOW_TEMPORAL_DATABASE_URL, when the suite runs Temporal on PostgreSQL; the SMTP
// server's, from --smtp-url), makes it log (a delivery that fails for good, whose failure
// e-mail cannot reach the SMTP server) and stops it: the password must appear nowhere in
// what it printed, banner, log lines and shutdown included, nor in Temporal's log. The
// signing secret the banner shows is printed by design and not looked for.
func TestDevShowsNoCredential(t *testing.T) {
	const secret = "PASSWORD-7c1e0b"
	withPassword := func(raw string) string {
		t.Helper()
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		u.User = url.UserPassword(u.User.Username(), secret) // trust authentication on the test's server: any password is taken
		return u.String()
	}
	storeURL := withPassword(postgresStoreURL(t, "hookflow_e2e_creds")) // skips without a PostgreSQL
	temporalURL := temporalDatabase(t)
	if temporalURL != "" {
		temporalURL = withPassword(temporalURL)
	}
	dataDir := t.TempDir()
	d := &devProcess{dataDir: dataDir}
	d.process = start(t, launch{name: "dev", ports: 3, readyTimeout: 90 * time.Second, logFile: filepath.Join(dataDir, "temporal.log"),
		args: func(ports []int) []string {
			return []string{"dev", "--data-dir", dataDir,
				"--temporal-port", fmt.Sprint(ports[0]), "--ui-port", fmt.Sprint(ports[1]),
				"--http", fmt.Sprintf("127.0.0.1:%d", ports[2]),
				"--smtp-url", "smtp://user:" + secret + "@127.0.0.1:1/", "--smtp-from", "hookflow@example.com"}
		},
		env: func([]int) []string {
			env := []string{"HOOKFLOW_DATABASE_URL=" + storeURL}
			if temporalURL != "" {
				env = append(env, "HOOKFLOW_TEMPORAL_DATABASE_URL="+temporalURL)
			}
			return env
		}})
	d.api = d.ready.API

	// A receiver that is gone (410): the delivery fails at once, and its failure e-mail
	// goes to an SMTP server that is not there, which the worker logs.
	runCLI(t, d, "settings", "notifications", "--email", "--recipients", "ops@example.com")
	gone := newReceiver(t, 410)
	status, body := call(t, "POST", d.api+"/v1/distributions", map[string]any{
		"name": "Gone", "status": "live",
		"trigger": map[string]any{"events": []string{"customer.order.paid"}},
		"webhook": map[string]any{"event_name": "Order-paid", "url": gone.URL + "/hooks"},
	})
	if status != 201 {
		t.Fatalf("create distribution: %d %s", status, body)
	}
	sendEvent(t, d, "evt_creds")
	waitFor(t, 60*time.Second, func() bool { return strings.Contains(d.output.String(), "send mail via 127.0.0.1:1") })
	d.stop(syscall.SIGTERM, 30*time.Second)

	out := d.output.String()
	if strings.Contains(out, secret) {
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, secret) {
				t.Errorf("hookflow dev printed a password: %s", line)
			}
		}
	}
	// The control: the URLs are in the banner, with the password masked.
	store, _ := url.Parse(storeURL)
	for _, row := range []string{"E-mail          smtp://user:xxxxx@127.0.0.1:1/", "Store           " + store.Scheme + "://" + store.User.Username() + ":xxxxx@" + store.Host + "/"} {
		if !strings.Contains(out, row) {
			t.Errorf("the banner lacks %q:\n%s", row, out)
		}
	}
	if log, err := os.ReadFile(filepath.Join(dataDir, "temporal.log")); err == nil && strings.Contains(string(log), secret) {
		t.Errorf("Temporal's log (temporal.log) holds a password")
	}
}
