package kernels

//go:noescape
func dotQ6KRowAVX2(row []byte, x []float32) float32

// dotQ6KRowSIMD is the whole-row Q6_K kernel.
func dotQ6KRowSIMD(row []byte, x, _, _ []float32) float32 {
	return dotQ6KRowAVX2(row[:len(x)/qkK*q6KBytes], x)
}
