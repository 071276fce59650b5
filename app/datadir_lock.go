package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DataDirLockFile is the file in a data dir that dev and server lock for as long as they
// run: two embedded Temporal servers on one SQLite file would corrupt each other's state.
const DataDirLockFile = "hookflow.lock"

// errLocked is what tryLock answers when another process holds the lock.
var errLocked = errors.New("locked")

// lockDataDir takes the data dir for process (dev or server) until release is called, or
// the process ends in any way: the lock is the operating system's (flock), so a process
// killed with SIGKILL holds it no longer. The file names the holder (pid, command, start
// time) so that a second process can say which one is in the way. The command is the
// program and the process's name only: the full command line may hold keys and passwords.
func lockDataDir(dir, process string) (release func(), err error) {
	path := filepath.Join(dir, DataDirLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--data-dir %s: cannot open its lock file: %w", dir, err)
	}
	if err := tryLock(f); err != nil {
		f.Close()
		if !errors.Is(err, errLocked) {
			return nil, fmt.Errorf("--data-dir %s: cannot lock %s: %w", dir, path, err)
		}
		holder, _ := os.ReadFile(path)
		who := strings.TrimSpace(string(holder))
		if who == "" {
			who = "another process"
		}
		return nil, fmt.Errorf("--data-dir %s is in use by %s (it holds %s); stop that process first, or give this one another --data-dir", dir, who, path)
	}
	program := filepath.Base(os.Args[0])
	holder := fmt.Sprintf("pid %d (%s %s, started %s)\n", os.Getpid(), program, process, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(holder), 0)
	}
	// Closing the file drops the lock; the file stays, so that no one locks a file another
	// process has just unlinked.
	return func() { f.Close() }, nil
}
