//go:build linux || darwin

package publish

import (
	"os"
	"syscall"
	"unsafe"
)

var pageSize = uintptr(os.Getpagesize())

// releasePages drops the pages holding b, a slice of a read-only shared
// file mapping, from the resident set once they have been copied: the page
// cache keeps them, so this costs nothing but keeps the process's RSS flat
// however large the model. Rounding out to whole pages stays inside the
// mapping (it starts on a page and its length is rounded up to pages).
func releasePages(b []byte) {
	if len(b) == 0 {
		return
	}
	start := uintptr(unsafe.Pointer(&b[0]))
	lo := start / pageSize * pageSize
	hi := (start + uintptr(len(b)) + pageSize - 1) / pageSize * pageSize
	syscall.Syscall(syscall.SYS_MADVISE, lo, hi-lo, 4 /* MADV_DONTNEED */)
}
