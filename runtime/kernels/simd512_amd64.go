package kernels

import (
	"encoding/binary"
	"maps"

	"github.com/gguftool/gguftool/gguf"
	"github.com/klauspost/cpuid/v2"
)

//go:noescape
func dotF32AVX512(a, b []float32) float32

//go:noescape
func dotF16AVX512(row []byte, x []float32) float32

//go:noescape
func dotQ8_0AVX512(row []byte, x []float32) float32

//go:noescape
func dotMXFP4AVX512(row []byte, x []float32, scales *[256]float32) float32

//go:noescape
func dotQ4_0AVX512(row []byte, x []float32) float32

//go:noescape
func dotTile4x4AVX512(w *float32, x *float32, cols int, out *[16]float32)

func tile4x4(w, x []float32, cols int, out *[16]float32) {
	_ = w[4*cols-1]
	_ = x[4*cols-1]
	dotTile4x4AVX512(&w[0], &x[0], cols, out)
}

// hasAVX512 is whether this CPU runs the AVX-512 kernels (F, BW, VL plus the
// AVX2/FMA/F16C baseline they are mixed with).
var hasAVX512 = hasAVX2 && cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL)

// useAVX512 upgrades the AVX2 set where an AVX-512 kernel exists.
func useAVX512() {
	tileDot4x4 = tile4x4
	dotF32 = func(a, b []float32) float32 { return dotF32AVX512(a, b[:len(a)]) }
	dotQ8_0 = func(row []byte, x []float32) float32 { return dotQ8_0AVX512(row[:len(x)/qk*q80Bytes], x) }
	fusedDots[gguf.TypeF16] = func(row []byte, x, _, _ []float32) float32 {
		n32 := len(x) &^ 31
		s := dotF16AVX512(row[:2*n32], x[:n32])
		for i := n32; i < len(x); i++ {
			s += f16Table[binary.LittleEndian.Uint16(row[2*i:])] * x[i]
		}
		return s
	}
	fusedDots[gguf.TypeMXFP4] = dotMXFP4RowAVX512
	rowDots4 = map[gguf.Type]rowDot4{gguf.TypeMXFP4: dotMXFP4Rows4AVX512}
	tokenDots4 = map[gguf.Type]tokenDot4{gguf.TypeMXFP4: dotMXFP4Tokens4AVX512}
	tileDequant = maps.Clone(simdDequant)
	tileDequant[gguf.TypeMXFP4] = dequantMXFP4RowAVX512
	fusedDots[gguf.TypeQ4_0] = func(row []byte, x, _, _ []float32) float32 {
		return dotQ4_0AVX512(row[:len(x)/qk*q40Bytes], x)
	}
	useKQuantAVX512()
}

// dotMXFP4ShuffleAVX512 is the previous MXFP4 row kernel (VPSHUFB lookup,
// widen, convert), kept as the baseline the benchmarks compare against.
func dotMXFP4ShuffleAVX512(row []byte, x, _, _ []float32) float32 {
	return dotMXFP4AVX512(row[:len(x)/qk*mxfp4Bytes], x, e8m0HalfTable)
}
