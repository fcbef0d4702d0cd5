package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/quant"
)

// kernelSets are the implementations benchmarks compare.
var kernelSets = []string{"portable", "avx2", "avx512"}

// useKernelSet selects portable, avx2 or avx512 kernels and reports whether
// that set is what now runs.
func useKernelSet(name string) bool {
	switch name {
	case "portable":
		return !SetSIMD(false)
	case "avx2":
		SetAVX512(false)
		return SetSIMD(true)
	default:
		SetAVX512(true)
		return SetSIMD(true) && SIMD() != "avx2+fma+f16c" && SIMD() != "portable"
	}
}

// benchMat builds a rows×cols matrix of type t by repeating a 64-row
// quantized tile (quantizing 16M values with the K-quant search is slow).
func benchMat(b *testing.B, typ gguf.Type, rows, cols int) Mat {
	r := rand.New(rand.NewPCG(1, 1))
	const tile = 64
	src := randFloats(r, tile*cols, 0.5)
	rb := int(typ.RowSize(int64(cols)))
	one := make([]byte, tile*rb)
	if err := quant.Quantize(typ, one, src); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, rows*rb)
	for off := 0; off < len(data); off += len(one) {
		copy(data[off:], one)
	}
	m, err := NewMat(typ, rows, cols, data)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkMatVec measures decode-shaped products (one token) per type, for
// the portable and the SIMD kernels, on all threads; MB/s is weight bytes
// read per second.
func BenchmarkMatVec(b *testing.B) {
	const rows, cols = 4096, 4096
	for _, typ := range allTypes {
		// The matrix is built inside the type's sub-benchmark, so that
		// -bench 'MatVec/MXFP4' builds only that one.
		b.Run(typ.String(), func(b *testing.B) {
			m := benchMat(b, typ, rows, cols)
			x := randFloats(rand.New(rand.NewPCG(2, 2)), cols, 1)
			y := make([]float32, rows)
			for _, impl := range benchKernelSets(typ) {
				b.Run(impl, func(b *testing.B) {
					if !useMXFP4KernelSet(impl) {
						b.Skip(impl + " is not available on this CPU")
					}
					defer useKernelSet("avx512")
					b.SetBytes(int64(len(m.Data)))
					for b.Loop() {
						MatVec(y, m, x)
					}
				})
			}
		})
	}
}

// benchKernelSets are the kernel sets benchmarked for type t: for MXFP4 also
// the previous AVX-512 kernel as the baseline.
func benchKernelSets(t gguf.Type) []string {
	if t == gguf.TypeMXFP4 {
		return append(kernelSets[:len(kernelSets):len(kernelSets)], "avx512-shuffle")
	}
	return kernelSets
}

// BenchmarkMatMul measures prefill-shaped products (64 tokens at once).
func BenchmarkMatMul(b *testing.B) {
	const rows, cols, n = 1024, 4096, 64
	for _, typ := range allTypes {
		m := benchMat(b, typ, rows, cols)
		x := randFloats(rand.New(rand.NewPCG(2, 2)), n*cols, 1)
		y := make([]float32, n*rows)
		for _, impl := range kernelSets {
			b.Run(fmt.Sprintf("%s/%s", typ, impl), func(b *testing.B) {
				if !useKernelSet(impl) {
					b.Skip(impl + " is not available on this CPU")
				}
				defer useKernelSet("avx512")
				b.SetBytes(int64(len(m.Data)))
				for b.Loop() {
					MatMul(y, m, x, n)
				}
				b.ReportMetric(float64(2*rows*cols*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkMatVecDRAM is BenchmarkMatVec with 1 GiB of weights per type, more
// than any last-level cache, so that MB/s is memory streaming speed (what
// decode of a multi-GB model sees), not cache bandwidth.
func BenchmarkMatVecDRAM(b *testing.B) {
	const cols = 4096
	for _, typ := range allTypes {
		b.Run(typ.String(), func(b *testing.B) {
			rows := int((1 << 30) / typ.RowSize(cols))
			m := benchMat(b, typ, rows/64*64, cols)
			x := randFloats(rand.New(rand.NewPCG(2, 2)), cols, 1)
			y := make([]float32, m.Rows)
			for _, impl := range benchKernelSets(typ) {
				b.Run(impl, func(b *testing.B) {
					if !useMXFP4KernelSet(impl) {
						b.Skip(impl + " is not available on this CPU")
					}
					defer useKernelSet("avx512")
					b.SetBytes(int64(len(m.Data)))
					for b.Loop() {
						MatVec(y, m, x)
					}
				})
			}
		})
	}
}

// BenchmarkMemoryRead is the bandwidth bound the DRAM numbers compare with.
func BenchmarkMemoryRead(b *testing.B) {
	for b.Loop() {
		bw := MemoryReadBandwidth(1<<30, 1)
		b.ReportMetric(bw/1e9, "GB/s")
	}
}
