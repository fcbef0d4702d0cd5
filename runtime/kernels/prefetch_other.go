//go:build !amd64

package kernels

// Prefetch asks for b's cache lines ahead of use (a hint; no-op here).
func Prefetch(b []byte) {}
