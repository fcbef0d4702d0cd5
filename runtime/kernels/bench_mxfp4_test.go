package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// mxfp4KernelSets are the MXFP4 MatVec implementations compared:
// "avx512-shuffle" is the AVX-512 set with the previous MXFP4 row kernel
// (VPSHUFB lookup, widen, convert, one row at a time) as the baseline.
var mxfp4KernelSets = []string{"avx2", "avx512-shuffle", "avx512"}

func useMXFP4KernelSet(name string) bool {
	switch name {
	case "avx512-shuffle":
		if !useKernelSet("avx512") {
			return false
		}
		fusedDots[gguf.TypeMXFP4] = dotMXFP4ShuffleAVX512
		rowDots4 = nil
		return true
	default:
		return useKernelSet(name)
	}
}

// BenchmarkMatVecMXFP4 measures MXFP4 MatVec per core (threads=1) and on all
// threads, for a gpt-oss expert matrix (2880×2880, 4.4 MB: cache-resident
// on a server) and 1 GiB of weights (memory streaming). MB/s is weight bytes.
func BenchmarkMatVecMXFP4(b *testing.B) {
	shapes := []struct {
		name       string
		rows, cols int
	}{
		{"2880x2880", 2880, 2880},
		{"DRAM", int((1 << 30) / gguf.TypeMXFP4.RowSize(2880)) / 64 * 64, 2880},
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
