//go:build !unix

package app

import "os"

// tryLock does not lock where flock is not available: the data dir is not guarded there.
func tryLock(*os.File) error { return nil }
