package cputwin

import (
	"math/rand/v2"
	"testing"
)

// TestMatMulGrouped checks the grouped twin against MatMul per group on
// hand-picked groups (a matrix used twice, a row in no group) and that bad
// groups are errors.
func TestMatMulGrouped(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const nIn, nOut, nMat, nRows = 32, 3, 2, 6
	w := make([]byte, 0, nMat*nOut*nIn*2)
	for i := 0; i < nMat*nOut*nIn; i++ {
		w = append(w, byte(rng.Uint32()), byte(0x30+rng.IntN(8))) // finite halves
	}
	mb := int64(nOut * nIn * 2)
	x := make([]float32, nRows*nIn)
	for i := range x {
		x[i] = rng.Float32() - 0.5
	}
	bias := []float32{1, 2, 3, 4, 5, 6}
	groups := []int32{1, 0, 2, 0, 2, 1, 1, 4, 2} // row 3 in no group
	y, err := MatMulGrouped(F16, w, mb, groups, x, bias, nIn, nOut, nRows)
	if err != nil {
		t.Fatal(err)
	}
	for g := 0; g < len(groups); g += 3 {
		e, first, count := int64(groups[g]), int(groups[g+1]), int(groups[g+2])
		want, err := MatMul(F16, w[e*mb:(e+1)*mb], x[first*nIn:(first+count)*nIn], bias[e*nOut:(e+1)*nOut], nIn, nOut)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range want {
			if got := y[first*nOut+i]; got != v {
				t.Fatalf("group %d: y[%d] = %v, want %v", g/3, first*nOut+i, got, v)
			}
		}
	}
	for i := 3 * nOut; i < 4*nOut; i++ {
		if y[i] != 0 {
			t.Errorf("row 3 (no group) = %v", y[3*nOut:4*nOut])
		}
	}
	for name, g := range map[string][]int32{
		"not triples":   {0, 0},
		"matrix 2 of 2": {2, 0, 1},
		"rows past end": {0, 5, 2},
		"negative rows": {0, 1, -1},
	} {
		if _, err := MatMulGrouped(F16, w, mb, g, x, nil, nIn, nOut, nRows); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
