//go:build unix

package gguf

import (
	"fmt"
	"os"
	"syscall"
)

// mapFile maps path read-only. The mapping costs address space, not
// memory: pages are read from the file when touched.
func mapFile(path string) (data []byte, unmap func() error, err error) {
	// O_NONBLOCK: opening a FIFO (or <(process substitution)) would
	// otherwise wait for a writer forever; it is refused below instead.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	if size == 0 {
		return []byte{}, func() error { return nil }, nil
	}
	if int64(int(size)) != size {
		return nil, nil, fmt.Errorf("%s: file too large to map", path)
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}

var pageSize = int64(os.Getpagesize())

// releasePages drops data[lo:hi], widened to whole pages, from the
// process's resident set. The mapping is read-only and shared, so the
// pages stay in the page cache and fault back in if touched again.
func releasePages(data []byte, lo, hi int64) {
	lo = max(lo, 0) / pageSize * pageSize
	hi = min((hi+pageSize-1)/pageSize*pageSize, int64(len(data)))
	if lo < hi {
		_ = syscall.Madvise(data[lo:hi], syscall.MADV_DONTNEED) // advice only
	}
}
