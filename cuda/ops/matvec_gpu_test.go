//go:build cuda

package ops

import (
	"fmt"
	"testing"

	"github.com/gguftool/gguftool/cuda/cputwin"
)

// TestMatVecRowsGPU checks both row shapes of matvec.cu (one row per warp
// under mvFullRowsMin outputs, MV_ROWS from it on, with a ragged last warp)
// against the CPU twin for every type and batch it takes.
func TestMatVecRowsGPU(t *testing.T) {
	e := newEnv(t)
	const nIn = 2880
	for _, wt := range cputwin.WeightTypes {
		if _, ok := matvecAlign[wt]; !ok {
			continue
		}
		for _, nOut := range []int{77, mvFullRowsMin + 13} {
			w := e.randomWeights(wt, nIn, nOut)
			dw := e.upload(w)
			for _, nTok := range []int{1, 2, mvTokens} {
				x := e.floats(nTok*nIn, 1)
				bias := e.floats(nOut, 1)
				want, err := cputwin.MatMul(wt, w, x, bias, nIn, nOut)
				if err != nil {
					t.Fatal(err)
				}
				y := e.out(len(want))
				if err := e.k.MatMul(nil, wt, dw, e.dev(x), nIn, y, nOut, e.dev(bias), nIn, nOut, nTok); err != nil {
					t.Fatal(err)
				}
				name, _ := matvecKernel(wt, nOut)
				e.compare(fmt.Sprintf("%s n_out=%d tok=%d", name, nOut, nTok), e.read(y, len(want)), want, 2e-5)
			}
		}
	}
}
