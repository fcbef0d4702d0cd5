package kernels

//go:noescape
func dotQ4KRowAVX2(row []byte, x []float32, xsum *float32) float32

// dotQ4KRowSIMD is the whole-row Q4_K kernel (scales unpacked in assembly).
func dotQ4KRowSIMD(row []byte, x, xsum, _ []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	_ = xsum[len(x)/qk-1]
	return dotQ4KRowAVX2(row[:len(x)/qkK*q4KBytes], x, &xsum[0])
}

//go:noescape
func dotQ5KRowAVX2(row []byte, x []float32, xsum *float32) float32

// dotQ5KRowSIMD is the whole-row Q5_K kernel.
func dotQ5KRowSIMD(row []byte, x, xsum, _ []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	_ = xsum[len(x)/qk-1]
	return dotQ5KRowAVX2(row[:len(x)/qkK*q5KBytes], x, &xsum[0])
}
