package quant

import (
	"runtime"
	"sync"

	"github.com/gguftool/gguftool/gguf"
)

// minBlocksPerTask keeps goroutine overhead small next to the work.
const minBlocksPerTask = 64

// splitBlocks cuts nb blocks into at most workers ranges of whole blocks.
func splitBlocks(nb, workers int) [][2]int {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	tasks := min(workers, max(1, nb/minBlocksPerTask))
	var out [][2]int
	for i := 0; i < tasks; i++ {
		out = append(out, [2]int{nb * i / tasks, nb * (i + 1) / tasks})
	}
	return out
}

// QuantizeParallel is Quantize spread over workers goroutines (0: one per
// core). Blocks are independent, so the bytes are those of Quantize.
func QuantizeParallel(t gguf.Type, dst []byte, src []float32, workers int) error {
	nb, err := checkSizes(t, len(src), len(dst))
	if err != nil {
		return err
	}
	c := codecs[t]
	bs, ts := t.BlockSize(), t.TypeSize()
	parallel(splitBlocks(nb, workers), func(lo, hi int) {
		c.quantize(dst[lo*ts:hi*ts], src[lo*bs:hi*bs])
	})
	return nil
}

// DequantizeParallel is Dequantize spread over workers goroutines (0: one
// per core).
func DequantizeParallel(t gguf.Type, dst []float32, src []byte, workers int) error {
	nb, err := checkSizes(t, len(dst), len(src))
	if err != nil {
		return err
	}
	c := codecs[t]
	bs, ts := t.BlockSize(), t.TypeSize()
	parallel(splitBlocks(nb, workers), func(lo, hi int) {
		c.dequantize(dst[lo*bs:hi*bs], src[lo*ts:hi*ts])
	})
	return nil
}

func parallel(ranges [][2]int, f func(lo, hi int)) {
	if len(ranges) == 1 {
		f(ranges[0][0], ranges[0][1])
		return
	}
	var wg sync.WaitGroup
	for _, r := range ranges {
		wg.Go(func() { f(r[0], r[1]) })
	}
	wg.Wait()
}
