//go:build !amd64

package kernels

// SetSIMD reports false: there are no SIMD kernels for this architecture yet.
func SetSIMD(on bool) bool { return false }

// SIMD names the active kernel set.
func SIMD() string { return "portable" }
