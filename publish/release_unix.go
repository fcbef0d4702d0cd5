//go:build unix

package publish

import (
	"os"
	"syscall"
)

var pageSize = os.Getpagesize()

// releasePages drops mapping[lo:hi], a read-only shared file mapping whose
// pages have been copied, from the resident set. The page cache keeps them;
// the process's RSS stays flat however large the model.
func releasePages(mapping []byte, lo, hi int) {
	lo = max(lo, 0) / pageSize * pageSize
	hi = min((hi+pageSize-1)/pageSize*pageSize, len(mapping))
	if lo >= hi {
		return
	}
	_ = syscall.Madvise(mapping[lo:hi], 4 /* MADV_DONTNEED */)
}
