package kernels

import (
	"fmt"
	"sync"

	"github.com/gguftool/gguftool/gguf"
)

// tilePool recycles MatMulRows' decode tiles: callers run it on many small
// row blocks, and a tile per call (matTile·Cols floats) would be most of
// what they allocate.
var tilePool sync.Pool

// MatMulRows computes rows [lo, hi) of MatMul(dst, m, x, n) on the calling
// goroutine: for token j and row r in [lo, hi), dst[j·Rows + r]. It is for
// callers that share a product's rows among workers of their own (the GPU
// executor's CPU experts), with the same kernels as MatMul: each weight row
// is decoded once for all n tokens (one-token rows as MatVec does).
//
// A row's result depends only on its kernel, which depends on where its
// group of rows starts (4 rows for n ≤ 8 quantized, 4 for n ≤ 4 unquantized,
// matTile = 8 above; 4 for n = 1): blocks starting at multiples of 8 give
// MatMul's results bit for bit wherever MatMul's own chunks start at
// multiples of 8 (with one thread, always).
func MatMulRows(dst []float32, m Mat, x []float32, n, lo, hi int) {
	if n < 1 || lo < 0 || hi > m.Rows || lo > hi || len(x) < n*m.Cols || len(dst) < n*m.Rows {
		panic(fmt.Sprintf("kernels: MatMulRows %d×%d rows [%d, %d) with n=%d, x[%d], dst[%d]", m.Rows, m.Cols, lo, hi, n, len(x), len(dst)))
	}
	cols := m.Cols
	var xsums [][]float32
	if needsXSum(m.Type) {
		xsums = make([][]float32, n)
		for j := range xsums {
			xsums[j] = groupSums(x[j*cols : (j+1)*cols])
		}
	}
	if n == 1 {
		var xsum []float32
		if xsums != nil {
			xsum = xsums[0]
		}
		matVecRows(dst, m, x[:cols], xsum, lo, hi)
		return
	}
	if fused := fusedDots[m.Type]; fused != nil && n <= fusedMaxTokens(m.Type) {
		if xsums == nil {
			var none [8][]float32 // fusedMaxTokens at most: no allocation
			xsums = none[:n]
		}
		matMulFusedRows(dst, m, x, n, xsums, fused, lo, hi)
		return
	}
	if m.Type == gguf.TypeF32 {
		matMulTileRows(dst, m, x, n, nil, lo, hi)
		return
	}
	tp, _ := tilePool.Get().(*[]float32)
	if tp == nil || len(*tp) < matTile*cols {
		t := make([]float32, matTile*cols)
		tp = &t
	}
	matMulTileRows(dst, m, x, n, (*tp)[:matTile*cols], lo, hi)
	tilePool.Put(tp)
}
