package localstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// On Linux, Put leaves flushing to Sync, which flushes the whole file
// system at once.

func syncFile(*os.File) error   { return nil }
func syncDir(string) error      { return nil }
func syncExisting(string) error { return nil }

// syncAll flushes the file system holding f (syncfs(2)): every chunk
// file, rename and directory written so far.
func syncAll(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Syncfs(int(fd)) }); err != nil {
		return err
	}
	return serr
}
