//go:build !amd64

package kernels

// SetSIMD reports false: there are no SIMD kernels for this architecture yet.
func SetSIMD(on bool) bool { return false }

// SIMD names the active kernel set.
func SIMD() string { return "portable" }

// SetAVX512 reports false: there are no AVX-512 kernels off amd64.
func SetAVX512(on bool) bool { return false }

// hasAVX512 is false off amd64 (tests skip the AVX-512 comparisons).
var hasAVX512 = false
