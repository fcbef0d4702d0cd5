package kernels

//go:noescape
func dotQ5_0AVX2(row []byte, x []float32) float32

//go:noescape
func dequantQ5_0AVX2(dst []float32, row []byte)

func dotQ5_0SIMD(row []byte, x, _, _ []float32) float32 {
	return dotQ5_0AVX2(row[:len(x)/qk*q50Bytes], x)
}

func dequantQ5_0SIMD(dst []float32, src []byte) {
	dequantQ5_0AVX2(dst, src[:len(dst)/qk*q50Bytes])
}
