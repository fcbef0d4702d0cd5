package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// mxfp4KernelSets are the MXFP4 MatVec implementations compared:
// "avx512-shuffle" is the AVX-512 set with the previous MXFP4 kernels
// (VPSHUFB lookup, widen, convert, one row and one token at a time; the AVX2
// tile decoder) as the baseline.
// "avx512-row" is the new kernel one row at a time (what rows left over by
// the four-row kernel and MatMul's few-token path run).
var mxfp4KernelSets = []string{"avx2", "avx512-shuffle", "avx512-row", "avx512"}

func useMXFP4KernelSet(name string) bool {
	switch name {
	case "avx512-shuffle":
		if !useKernelSet("avx512") {
			return false
		}
		fusedDots[gguf.TypeMXFP4] = dotMXFP4ShuffleAVX512
		rowDots4, tokenDots4 = nil, nil
		tileDequant = simdDequant
		return true
	case "avx512-row":
		if !useKernelSet("avx512") {
			return false
		}
		rowDots4, tokenDots4 = nil, nil
		return true
	default:
		return useKernelSet(name)
	}
}

// BenchmarkMatVecMXFP4 measures MXFP4 MatVec per core (threads=1) and on all
// threads, for a gpt-oss expert matrix (2880×2880, 4.4 MB: last-level cache
// on a server), 512 of its rows (L2: the kernel's own speed) and 1 GiB of
// weights (memory streaming). MB/s is weight bytes.
func BenchmarkMatVecMXFP4(b *testing.B) {
	shapes := []struct {
		name       string
		rows, cols int
	}{
		{"2880x2880", 2880, 2880},
		{"L2", 512, 2880},
		{"DRAM", int((1<<30)/gguf.TypeMXFP4.RowSize(2880)) / 64 * 64, 2880},
	}
	for _, sh := range shapes {
		m := benchMat(b, gguf.TypeMXFP4, sh.rows, sh.cols)
		x := randFloats(rand.New(rand.NewPCG(2, 2)), sh.cols, 1)
		y := make([]float32, m.Rows)
		for _, th := range []int{1, runtime.GOMAXPROCS(0)} {
			for _, impl := range mxfp4KernelSets {
				b.Run(fmt.Sprintf("%s/threads=%d/%s", sh.name, th, impl), func(b *testing.B) {
					if !useMXFP4KernelSet(impl) {
						b.Skip(impl + " is not available on this CPU")
					}
					defer useKernelSet("avx512")
					defer SetThreads(SetThreads(th))
					b.SetBytes(int64(len(m.Data)))
					for b.Loop() {
						MatVec(y, m, x)
					}
				})
			}
		}
		m.Data = nil
	}
}

// BenchmarkMatVecMXFP4Blocks is how the GPU executor's CPU experts call
// MatVec (runtime/gpu/cpu_experts.go): one 2880×2880 expert matrix in
// blocks of 65536/2880 = 22 rows, each small enough to run inline, on one
// thread (the executor runs one such job per worker).
func BenchmarkMatVecMXFP4Blocks(b *testing.B) {
	const rows, cols = 2880, 2880
	m := benchMat(b, gguf.TypeMXFP4, rows, cols)
	x := randFloats(rand.New(rand.NewPCG(2, 2)), cols, 1)
	y := make([]float32, rows)
	block := 65536 / cols
	for _, impl := range mxfp4KernelSets {
		b.Run(impl, func(b *testing.B) {
			if !useMXFP4KernelSet(impl) {
				b.Skip(impl + " is not available on this CPU")
			}
			defer useKernelSet("avx512")
			b.SetBytes(int64(len(m.Data)))
			for b.Loop() {
				for r0 := 0; r0 < rows; r0 += block {
					r1 := min(r0+block, rows)
					MatVec(y[r0:r1], m.RowRange(r0, r1), x)
				}
			}
		})
	}
}

// BenchmarkMatMulMXFP4 measures few-token products with one 2880×2880
// expert matrix on one thread (n ≤ fusedMaxTokens: the fused path; 16: tiles).
func BenchmarkMatMulMXFP4(b *testing.B) {
	const rows, cols = 2880, 2880
	m := benchMat(b, gguf.TypeMXFP4, rows, cols)
	for _, n := range []int{2, 4, 8, 16} {
		x := randFloats(rand.New(rand.NewPCG(2, 2)), n*cols, 1)
		y := make([]float32, n*rows)
		for _, impl := range mxfp4KernelSets {
			b.Run(fmt.Sprintf("n=%d/%s", n, impl), func(b *testing.B) {
				if !useMXFP4KernelSet(impl) {
					b.Skip(impl + " is not available on this CPU")
				}
				defer useKernelSet("avx512")
				defer SetThreads(SetThreads(1))
				b.SetBytes(int64(len(m.Data)))
				for b.Loop() {
					MatMul(y, m, x, n)
				}
			})
		}
	}
}
