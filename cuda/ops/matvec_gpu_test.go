//go:build cuda

package ops

import (
	"fmt"
	"testing"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
)

// TestMatVecRowsGPU checks every row shape of matvec.cu (matvecEntries:
// 4, 1 and 2 rows a block, and matvec_warp_ for its types; ragged last
// blocks) against the CPU twin for every type and batch it takes, and
// MatMul's choice among them.
func TestMatVecRowsGPU(t *testing.T) {
	e := newEnv(t)
	const nIn = 2880
	for _, wt := range cputwin.WeightTypes {
		if _, ok := matvecAlign[wt]; !ok {
			continue
		}
		rb, _ := cputwin.RowBytes(wt, nIn)
		entries := matvecEntries
		if matvecWarpTypes[wt] {
			entries = append(entries[:len(entries):len(entries)], matvecWarp)
		}
		for _, nOut := range []int{77, mvFullRowsMin + 13, mvWarpRowsMin + 13} {
			w := e.randomWeights(wt, nIn, nOut)
			dw := e.upload(w)
			for _, nTok := range []int{1, 2, mvTokens} {
				x := e.floats(nTok*nIn, 1)
				dx := e.dev(x)
				bias := e.floats(nOut, 1)
				db := e.dev(bias)
				want, err := cputwin.MatMul(wt, w, x, bias, nIn, nOut)
				if err != nil {
					t.Fatal(err)
				}
				for _, me := range entries {
					y := e.out(len(want))
					name := me.prefix + wt.String()
					if err := e.k.launch(name, nil, me.grid(nOut, nTok), cuda.Dim3{X: mvThreads, Y: 1, Z: 1}, dw, rb, dx, nIn, y, nOut, db, nIn, nOut, nTok); err != nil {
						t.Fatal(err)
					}
					e.compare(fmt.Sprintf("%s n_out=%d tok=%d", name, nOut, nTok), e.read(y, len(want)), want, 2e-5)
				}
				y := e.out(len(want))
				if err := e.k.MatMul(nil, wt, dw, dx, nIn, y, nOut, db, nIn, nOut, nTok); err != nil {
					t.Fatal(err)
				}
				name, _, _ := matvecKernel(wt, nOut, nTok)
				e.compare(fmt.Sprintf("MatMul (%s) n_out=%d tok=%d", name, nOut, nTok), e.read(y, len(want)), want, 2e-5)
			}
		}
	}
}
