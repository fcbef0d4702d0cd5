package kernels

import (
	"github.com/gguftool/gguftool/gguf"
	"github.com/klauspost/cpuid/v2"
)

//go:noescape
func dotF32AVX2(a, b []float32) float32

//go:noescape
func f16ToF32F16C(dst []float32, src []byte)

//go:noescape
func dotQ8_0AVX2(row []byte, x []float32) float32

//go:noescape
func dotTile4x2AVX2(w *float32, x *float32, cols int, out *[8]float32)

func tile4x2(w, x []float32, cols int, out *[8]float32) {
	_ = w[4*cols-1]
	_ = x[2*cols-1]
	dotTile4x2AVX2(&w[0], &x[0], cols, out)
}

// hasAVX2 is whether this CPU runs the AVX2/FMA/F16C kernels.
var hasAVX2 = cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3, cpuid.F16C)

var (
	simdOn   bool
	simdName string
	// noAVX512 keeps the AVX2 kernels on AVX-512 machines (tests compare them).
	noAVX512 bool
)

// SetAVX512 allows (default) or forbids the AVX-512 kernels and reapplies the
// SIMD choice; it reports whether AVX-512 kernels are now in use.
func SetAVX512(on bool) bool {
	noAVX512 = !on
	SetSIMD(simdOn)
	return simdOn && hasAVX512 && on
}

func init() { SetSIMD(true) }

// SetSIMD switches between the SIMD kernels (when the CPU has them) and the
// portable Go ones, and reports whether SIMD is now in use. Tests and
// benchmarks use it to compare the two; it must not race with running kernels.
func SetSIMD(on bool) bool {
	if on && hasAVX2 {
		dotF32 = func(a, b []float32) float32 { return dotF32AVX2(a, b[:len(a)]) }
		f16RowToF32 = func(dst []float32, src []byte) { f16ToF32F16C(dst, src[:2*len(dst)]) }
		dotQ8_0 = func(row []byte, x []float32) float32 { return dotQ8_0AVX2(row[:len(x)/qk*q80Bytes], x) }
		fusedDots = map[gguf.Type]fusedDot{
			gguf.TypeMXFP4: dotMXFP4SIMD,
			gguf.TypeQ4_0:  dotQ4_0SIMD,
			gguf.TypeQ5_0:  dotQ5_0SIMD,
			gguf.TypeQ4_K:  dotQ4KRowSIMD,
			gguf.TypeQ5_K:  dotQ5KRowSIMD,
			gguf.TypeQ6_K:  dotQ6KRowSIMD,
			gguf.TypeBF16:  dotBF16SIMD,
			gguf.TypeF16:   dotF16SIMD,
		}
		tileDequant = simdDequant
		tileDot4x2 = tile4x2
		tileDot4x4 = nil
		rowDots4 = nil
		tokenDots4 = nil
		simdName = "avx2+fma+f16c"
		if hasAVX512 && !noAVX512 {
			useAVX512()
			simdName = "avx512+avx2+fma+f16c"
		}
		simdOn = true
		return true
	}
	dotF32, f16RowToF32, dotQ8_0 = dotF32Portable, f16RowToF32Portable, dotQ8_0Portable
	fusedDots = nil
	tileDequant = nil
	tileDot4x2 = nil
	tileDot4x4 = nil
	rowDots4 = nil
	tokenDots4 = nil
	simdOn = false
	return false
}

// SIMD names the active kernel set.
func SIMD() string {
	if simdOn {
		return simdName
	}
	return "portable"
}
