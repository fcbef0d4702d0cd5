package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// randomMXFP4 returns rows×cols MXFP4 weights of random bytes: every code
// (−0 included) and block scales from the subnormal ones (e ≤ 2) to 2^22.
func randomMXFP4(t *testing.T, r *rand.Rand, rows, cols int) Mat {
	t.Helper()
	data := make([]byte, rows*cols/qk*mxfp4Bytes)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for b := 0; b < len(data); b += mxfp4Bytes {
		if r.IntN(8) == 0 {
			data[b] = byte(r.IntN(3))
		} else {
			data[b] = byte(100 + r.IntN(50))
		}
	}
	m, err := NewMat(gguf.TypeMXFP4, rows, cols, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMXFP4KernelsMatchPortable runs MatVec and MatMul on MXFP4 weights with
// every SIMD set against the portable path and the float64 reference, over
// shapes that reach every branch of the kernels: rows not a multiple of
// four (one-row kernel after the four-row one), blocks per row not a multiple
// of four (the one-row kernel's tail), token counts with and without a
// remainder after the groups of four, row ranges of a stacked matrix (as the
// executor's expert blocks), and a length-1 row.
func TestMXFP4KernelsMatchPortable(t *testing.T) {
	if !SetSIMD(true) {
		t.Skip("no SIMD kernels on this CPU")
	}
	defer SetSIMD(true)
	defer SetAVX512(true)
	r := rand.New(rand.NewPCG(5, 6))
	sets := []bool{false}
	if hasAVX512 {
		sets = append(sets, true)
	}
	for _, cols := range []int{32, 64, 96, 160, 2880} {
		for _, rows := range []int{1, 3, 4, 5, 22, 37} {
			m := randomMXFP4(t, r, rows+8, cols).RowRange(3, 3+rows)
			x := randFloats(r, 9*cols, 1)
			for _, n := range []int{1, 2, 3, 4, 5, 8, 9} {
				SetSIMD(false)
				port := make([]float32, n*rows)
				MatMul(port, m, x, n)
				want := make([]float64, len(port))
				for i, v := range port {
					want[i] = float64(v)
				}
				for j := 0; j < n; j++ {
					checkClose(t, fmt.Sprintf("portable %d×%d n=%d token %d vs float64", rows, cols, n, j),
						port[j*rows:(j+1)*rows], naiveMatVec(m, x[j*cols:]), 1e-5)
				}
				for _, avx512 := range sets {
					SetSIMD(true)
					SetAVX512(avx512)
					got := make([]float32, n*rows)
					MatMul(got, m, x, n)
					checkClose(t, fmt.Sprintf("%s %d×%d n=%d vs portable", SIMD(), rows, cols, n), got, want, 2e-6)
				}
			}
		}
	}
}
