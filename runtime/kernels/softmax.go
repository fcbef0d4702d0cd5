package kernels

import "math"

// Softmax replaces x with exp(x − max) / Σ exp(x − max), summing in float64.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	var sum float64
	for i, v := range x {
		e := math.Exp(float64(v - m))
		x[i] = float32(e)
		sum += e
	}
	inv := 1 / sum
	for i := range x {
		x[i] = float32(float64(x[i]) * inv)
	}
}

// Argmax returns the index of the largest value (the first on ties).
func Argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// TopK returns the indices of the k largest values of x in descending order
// of value (ties keep the lower index first, like a stable sort).
func TopK(x []float32, k int, idx []int) []int {
	idx = idx[:0]
	for i := range x {
		// Insertion into a short sorted list: k is at most a few dozen.
		pos := len(idx)
		for pos > 0 && x[i] > x[idx[pos-1]] {
			pos--
		}
		if pos >= k {
			continue
		}
		if len(idx) < k {
			idx = append(idx, 0)
		}
		copy(idx[pos+1:], idx[pos:len(idx)-1])
		idx[pos] = i
	}
	return idx
}
