package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// TestMatMulRowsMatchesMatMul: MatMulRows over row blocks starting at
// multiples of 8 gives one-thread MatMul's results bit for bit (every path:
// one token, fused, tiled; every SIMD set), and its rows lie where MatMul
// puts them.
func TestMatMulRowsMatchesMatMul(t *testing.T) {
	defer SetThreads(SetThreads(1))
	r := rand.New(rand.NewPCG(4, 4))
	for _, simd := range []bool{true, false} {
		old := SetSIMD(simd)
		for _, typ := range append(append([]gguf.Type{}, allTypes...), genericTypes...) {
			m := quantized(t, typ, 77, 256, 9) // 77 rows: a short last group and tile
			for _, n := range []int{1, 2, 3, 4, 5, fusedMaxTokens(typ), 9, 11, 16} {
				x := randFloats(r, n*m.Cols, 1)
				want := make([]float32, n*m.Rows)
				MatMul(want, m, x, n)
				for _, block := range []int{8, 16, 24, 80} {
					got := make([]float32, n*m.Rows)
					for i := range got {
						got[i] = float32(math.NaN()) // rows left out show
					}
					for lo := 0; lo < m.Rows; lo += block {
						MatMulRows(got, m, x, n, lo, min(lo+block, m.Rows))
					}
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("simd %v %s n=%d blocks of %d: dst[%d] = %v, MatMul gives %v", simd, typ, n, block, i, got[i], want[i])
						}
					}
				}
			}
		}
		SetSIMD(old)
	}
}

func TestMatMulRowsRejectsBadRanges(t *testing.T) {
	m := quantized(t, gguf.TypeQ8_0, 8, 64, 1)
	for _, c := range [][3]int{{1, 0, 9}, {1, 5, 4}, {0, 0, 8}, {3, 0, 8}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("n=%d rows [%d, %d): no panic", c[0], c[1], c[2])
				}
			}()
			MatMulRows(make([]float32, 16), m, make([]float32, 128), c[0], c[1], c[2])
		}()
	}
}
