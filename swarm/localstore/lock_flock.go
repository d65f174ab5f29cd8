//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd || solaris

package localstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// flockAvailable reports whether Open locks its directory.
const flockAvailable = true

// lockFile takes an exclusive flock(2) on f without waiting. It is
// released when f is closed.
func lockFile(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB) }); err != nil {
		return err
	}
	return lerr
}
