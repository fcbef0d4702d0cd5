//go:build !unix

package publish

// releasePages is a no-op where files are not mapped.
func releasePages(mapping []byte, lo, hi int) {}
