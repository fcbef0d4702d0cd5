//go:build !linux && !darwin

package publish

// releasePages is a no-op where the reader does not map files.
func releasePages(b []byte) {}
