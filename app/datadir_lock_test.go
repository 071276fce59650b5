package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/devserver"
)

// TestSecondDevOnDataDirRefused: a second dev (or server) on the data dir of a running dev,
// with other ports, is refused before it starts anything, by a message that names the
// running process and says what to do; once the first stops, dev starts there again.
func TestSecondDevOnDataDirRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal")
	}
	dir := t.TempDir()
	devConfig := func() DevConfig {
		port, err := devserver.FreePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		return DevConfig{DataDir: dir, TemporalPort: port, HTTP: "127.0.0.1:0", SMTPFrom: "hookflow@localhost",
			Retention: 24 * time.Hour}
	}
	first := devConfig()
	_, stop := runUntilReady(t, func(ctx context.Context, stdout *lockedBuffer) error {
		return RunDev(ctx, first, stdout, io.Discard)
	})

	// Bounded, so that a second dev that starts after all ends the test.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	second := devConfig()
	second.UIPort = 0
	err := RunDev(ctx, second, io.Discard, io.Discard)
	wantHolder := fmt.Sprintf("pid %d (", os.Getpid())
	for _, want := range []string{"--data-dir " + dir + " is in use by", wantHolder, " dev, started ", "stop that process first, or give this one another --data-dir"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("second dev on the same data dir: got %v, want an error with %q", err, want)
		}
	}
	port, ferr := devserver.FreePort("127.0.0.1")
	if ferr != nil {
		t.Fatal(ferr)
	}
	err = RunServer(ctx, ServerConfig{DataDir: dir, IP: "127.0.0.1", TemporalPort: port, Namespace: "default", Retention: 24 * time.Hour}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "is in use by "+wantHolder) {
		t.Errorf("server on dev's data dir: got %v, want the data dir in use by the dev", err)
	}

	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("first dev ended with %v", err)
	}
	again := devConfig()
	_, stop = runUntilReady(t, func(ctx context.Context, stdout *lockedBuffer) error {
		return RunDev(ctx, again, stdout, io.Discard)
	})
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("dev after the first stopped ended with %v", err)
	}
}

// TestDataDirLockHolder is not a test: TestDataDirLockFreedOnKill runs the test binary
// with it to hold a data dir's lock in a process of its own.
func TestDataDirLockHolder(t *testing.T) {
	dir := os.Getenv("HOOKFLOW_TEST_LOCK_HOLDER")
	if dir == "" {
		t.Skip("a helper process of TestDataDirLockFreedOnKill")
	}
	if _, err := lockDataDir(dir, "dev"); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(10 * time.Minute)
	os.Exit(0)
}

// TestDataDirLockFreedOnKill: the lock of a process killed with SIGKILL, which runs no
// code on its way out, is free at once; while it lived, the refusal named its pid.
func TestDataDirLockFreedOnKill(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDataDirLockHolder$")
	cmd.Env = append(os.Environ(), "HOOKFLOW_TEST_LOCK_HOLDER="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		t.Fatalf("the helper did not lock: %q", line)
	}

	_, err = lockDataDir(dir, "dev")
	if want := fmt.Sprintf("in use by pid %d (", cmd.Process.Pid); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("lock held by another process: got %v, want an error with %q", err, want)
	}
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, DataDirLockFile)) {
		t.Errorf("the refusal does not name the lock file: %v", err)
	}

	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	release, err := lockDataDir(dir, "dev")
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	release()
}
