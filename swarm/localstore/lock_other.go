//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd || solaris)

package localstore

import "os"

// flockAvailable reports whether Open locks its directory.
const flockAvailable = false

// lockFile does nothing where flock(2) is not available: the caller
// must not open one directory twice.
func lockFile(*os.File) error { return nil }
