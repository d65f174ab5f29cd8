//go:build !linux

package localstore

import (
	"os"
	"runtime"
)

// syncData flushes a pack to stable storage.
func syncData(f *os.File) error { return f.Sync() }

// syncDir makes the entries of a directory durable. Windows cannot
// flush a directory handle; its renames are journaled by NTFS.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
