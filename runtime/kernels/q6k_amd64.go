package kernels

//go:noescape
func dotQ6KRowAVX2(row []byte, x []float32) float32

// dotQ6KRowSIMD is the whole-row Q6_K kernel.
func dotQ6KRowSIMD(row []byte, x, _, _ []float32) float32 {
	return dotQ6KRowAVX2(row[:len(x)/qkK*q6KBytes], x)
}

//go:noescape
func dequantQ6KAVX2(dst []float32, row []byte)

//go:noescape
func dequantBF16AVX2(dst []float32, row []byte)

func dequantQ6KSIMD(dst []float32, src []byte) {
	dequantQ6KAVX2(dst, src[:len(dst)/qkK*q6KBytes])
}

func dequantBF16SIMD(dst []float32, src []byte) {
	n8 := len(dst) &^ 7
	dequantBF16AVX2(dst[:n8], src[:2*n8])
	for i := n8; i < len(dst); i++ {
		dst[i] = BF16ToF32(uint16(src[2*i]) | uint16(src[2*i+1])<<8)
	}
}
