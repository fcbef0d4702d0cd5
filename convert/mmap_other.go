//go:build !unix

package convert

import (
	"io"
	"os"
)

// mapFile reads the whole file where mmap is not wired up.
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}

func releasePages(mapping []byte, lo, hi int) {}
