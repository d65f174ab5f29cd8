//go:build !linux

package localstore

import (
	"os"
	"path/filepath"
	"runtime"
)

// Without syncfs(2), every Put makes its chunk durable before it returns
// and Sync has nothing left to do.

func syncFile(f *os.File) error { return f.Sync() }

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

// syncExisting makes a chunk file found by Put durable: another Put may
// have written it a moment ago and not yet flushed its directory.
func syncExisting(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(name))
}

func syncAll(*os.File) error { return nil }
