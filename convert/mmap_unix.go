//go:build unix

package convert

import (
	"fmt"
	"os"
	"syscall"
)

// mapFile maps f read-only. Touched pages count towards the process's
// resident set until released with releasePages, which is how the
// converter keeps its RSS flat while streaming through a large checkpoint.
func mapFile(f *os.File, size int64) (data []byte, unmap func() error, err error) {
	if size == 0 {
		return []byte{}, func() error { return nil }, nil
	}
	if int64(int(size)) != size {
		return nil, nil, fmt.Errorf("%s: file too large to map", f.Name())
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: mmap: %w", f.Name(), err)
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}

var pageSize = os.Getpagesize()

// releasePages drops the pages of mapping[lo:hi] from the resident set.
// For a read-only shared file mapping this only unmaps them from this
// process (the page cache keeps them): a later read faults them back in,
// so releasing a range another goroutine is still reading is safe.
func releasePages(mapping []byte, lo, hi int) {
	lo = lo / pageSize * pageSize
	hi = min((hi+pageSize-1)/pageSize*pageSize, len(mapping))
	if lo >= hi {
		return
	}
	_ = syscall.Madvise(mapping[lo:hi], 4 /* MADV_DONTNEED */)
}
