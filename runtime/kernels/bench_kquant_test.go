package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// BenchmarkMatVecKQuant measures Q4_K, Q5_K and Q6_K MatVec on one thread
// (the GPU executor's CPU experts run one row block per worker) for the
// portable, AVX2 and AVX-512 kernel sets: a Phi-3.5-MoE/gpt-oss-sized
// expert matrix (2816×2816: last-level cache), a 1408×4096 one (DeepSeek-MoE
// expert rows, Phi-3.5-MoE width), 256 rows of 2816 (L2-resident: the
// kernel's own speed) and 512 MiB of weights (DRAM streaming). MB/s is
// weight bytes.
func BenchmarkMatVecKQuant(b *testing.B) {
	shapes := []struct {
		name       string
		rows, cols int
	}{
		{"L2-256x2816", 256, 2816},
		{"2816x2816", 2816, 2816},
		{"1408x4096", 1408, 4096},
		{"DRAM-512MiB", 0, 4096},
	}
	for _, typ := range []gguf.Type{gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K} {
		for _, sh := range shapes {
			b.Run(fmt.Sprintf("%s/%s", typ, sh.name), func(b *testing.B) {
				rows := sh.rows
				if rows == 0 {
					rows = int((512<<20)/typ.RowSize(int64(sh.cols))) / 64 * 64
				}
				m := benchMat(b, typ, rows, sh.cols)
				x := randFloats(rand.New(rand.NewPCG(2, 2)), sh.cols, 1)
				y := make([]float32, m.Rows)
				for _, impl := range kernelSets {
					b.Run(impl, func(b *testing.B) {
						if !useKernelSet(impl) {
							b.Skip(impl + " is not available on this CPU")
						}
						defer useKernelSet("avx512")
						defer SetThreads(SetThreads(1))
						b.SetBytes(int64(len(m.Data)))
						for b.Loop() {
							MatVec(y, m, x)
						}
					})
				}
			})
		}
	}
}

// BenchmarkMatMulKQuant measures few-token products (an expert's share of a
// prefill) with one 2816×2816 matrix on one thread: n ≤ 8 is the fused path
// (for Q4_K on AVX-512 four tokens per decoded row), 16 the tiles.
func BenchmarkMatMulKQuant(b *testing.B) {
	const rows, cols = 2816, 2816
	for _, typ := range []gguf.Type{gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K} {
		b.Run(typ.String(), func(b *testing.B) {
			m := benchMat(b, typ, rows, cols)
			for _, n := range []int{2, 4, 8, 16} {
				x := randFloats(rand.New(rand.NewPCG(2, 2)), n*cols, 1)
				y := make([]float32, n*rows)
				for _, impl := range kernelSets[1:] {
					b.Run(fmt.Sprintf("n=%d/%s", n, impl), func(b *testing.B) {
						if !useKernelSet(impl) {
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
		})
	}
}
