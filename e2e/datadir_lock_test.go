package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookflow/hookflow/cli"
)

// TestDevDataDirInUse: a second dev on the data dir of a running dev, with other ports,
// fails at once with a message that names the running one (its pid) and what to do; after
// the first is killed with SIGKILL, which runs none of its code, dev starts there again.
func TestDevDataDirInUse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookflow dev")
	}
	dir := t.TempDir()
	first := startDev(t, dir, nil)

	// Bounded, so that a second dev that starts after all ends instead of running on.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	var out bytes.Buffer
	err := cli.Run(ctx, []string{"dev", "--data-dir", dir, "--ui-port", "0", "--http", "127.0.0.1:0",
		"--temporal-port", fmt.Sprint(freePort(t))}, strings.NewReader(""), &out, &out)
	cancel()
	for _, want := range []string{"--data-dir " + dir + " is in use by pid " + fmt.Sprint(first.cmd.Process.Pid) + " (",
		" dev, started ", "stop that process first, or give this one another --data-dir"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("a second dev on the data dir: %v, want an error with %q\n%s", err, want, out.String())
		}
	}

	first.stop(syscall.SIGKILL, 30*time.Second)
	again := startDev(t, dir, first)
	if status, body := call(t, "GET", again.api+"/v1/secrets", nil); status != 200 {
		t.Errorf("dev after the first was killed: %d %s", status, body)
	}
}
