package cputwin

import "fmt"

// MatMulGrouped is the twin of gemm_grouped_<type>: groups holds triples
// (matrix index, first row, row count). Rows first..first+count-1 of x
// (nIn floats each) are multiplied with matrix index (matrixBytes apart in
// w) into the same rows of the result (nOut floats each, nRows rows); bias
// (nil: none) holds nOut floats per matrix. Rows no group covers are zero.
func MatMulGrouped(t WeightType, w []byte, matrixBytes int64, groups []int32, x []float32, bias []float32, nIn, nOut, nRows int) ([]float32, error) {
	if len(groups)%3 != 0 {
		return nil, fmt.Errorf("groups: %d values, want triples", len(groups))
	}
	y := make([]float32, nRows*nOut)
	for g := 0; g < len(groups); g += 3 {
		e, first, count := int64(groups[g]), int(groups[g+1]), int(groups[g+2])
		if e < 0 || (e+1)*matrixBytes > int64(len(w)) || first < 0 || count < 0 || first+count > nRows {
			return nil, fmt.Errorf("group %d: matrix %d, rows %d..+%d out of range", g/3, e, first, count)
		}
		var b []float32
		if bias != nil {
			b = bias[e*int64(nOut) : (e+1)*int64(nOut)]
		}
		yg, err := MatMul(t, w[e*matrixBytes:(e+1)*matrixBytes], x[first*nIn:(first+count)*nIn], b, nIn, nOut)
		if err != nil {
			return nil, err
		}
		copy(y[first*nOut:], yg)
	}
	return y, nil
}
