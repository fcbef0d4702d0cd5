//go:build !unix

package gguf

// mapFile reads the whole file where mmap is not wired up.
func mapFile(path string) ([]byte, func() error, error) {
	data, err := readAll(path)
	return data, func() error { return nil }, err
}

// releasePages is a no-op where files are read into memory.
func releasePages([]byte, int64, int64) {}
