// Package atomicfile writes an output file so that it appears complete or
// not at all: data goes to a temporary file in the same directory, which is
// renamed over the final name only on Commit. Temporary files of writes in
// progress are removed on Abort, and on SIGINT/SIGTERM when
// RemoveOnSignal has been called.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
)

// ErrExists is returned by Create when the output exists and force is off.
var ErrExists = errors.New("already exists (use --force to overwrite)")

// File is an output being written.
type File struct {
	*os.File
	final string
	done  bool
}

var (
	mu   sync.Mutex
	live = map[string]bool{} // temporary paths of unfinished files
)

// Create starts writing path. An existing path is refused unless force; a
// directory or anything else that is not a regular file (a device, a FIFO)
// is refused even with force, since the rename would replace it.
func Create(path string, force bool) (*File, error) {
	if st, err := os.Stat(path); err == nil {
		switch {
		case st.IsDir():
			return nil, fmt.Errorf("%s: is a directory, expected a file name", path)
		case !st.Mode().IsRegular():
			return nil, fmt.Errorf("%s: exists and is not a regular file (%v); write to a file", path, st.Mode().Type())
		}
	}
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return nil, fmt.Errorf("%s: %w", path, ErrExists)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: directory %s does not exist", path, dir)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s: %s is not a directory", path, dir)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the temporary name means nothing to the user
		}
		return nil, fmt.Errorf("%s: cannot create a file in %s: %w", path, dir, err)
	}
	mu.Lock()
	live[tmp.Name()] = true
	mu.Unlock()
	return &File{File: tmp, final: path}, nil
}

// Commit flushes the data to disk and renames the file into place.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("%s: already committed or aborted", f.final)
	}
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.File.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.File.Name(), f.final)
	}
	if err != nil {
		f.Abort()
		return fmt.Errorf("%s: %w", f.final, err)
	}
	f.forget()
	return nil
}

// Abort removes the temporary file. It is safe to call after Commit, so
// `defer f.Abort()` cleans up every failure path.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.File.Close()
	os.Remove(f.File.Name())
	f.forget()
}

func (f *File) forget() {
	f.done = true
	mu.Lock()
	delete(live, f.File.Name())
	mu.Unlock()
}

// RemoveOnSignal installs a handler that, on SIGINT or SIGTERM, removes the
// temporary files of every unfinished output and exits with status 130.
func RemoveOnSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-ch
		mu.Lock()
		for p := range live {
			os.Remove(p)
		}
		mu.Unlock()
		fmt.Fprintf(os.Stderr, "\ninterrupted (%v): partial output removed\n", sig)
		os.Exit(130)
	}()
}
