package kernels

//go:noescape
func mxfp4Dot4AVX512(w *byte, stride int, x *float32, nblk int, scales *[256]float32, out *[4]float32)

//go:noescape
func mxfp4Dot1AVX512(w *byte, x *float32, nblk int, scales *[256]float32) float32

// dotMXFP4Rows4AVX512 multiplies the four stored MXFP4 rows rows[0:4·rowBytes]
// by x (len(x)/32 blocks of each row are used).
func dotMXFP4Rows4AVX512(rows []byte, rowBytes int, x []float32, out *[4]float32) {
	nblk := len(x) / qk
	if nblk == 0 {
		*out = [4]float32{}
		return
	}
	_ = rows[3*rowBytes+nblk*mxfp4Bytes-1]
	mxfp4Dot4AVX512(&rows[0], rowBytes, &x[0], nblk, e8m0HalfTable, out)
}

// dotMXFP4RowAVX512 is the one-row fused kernel (rows left over by the 4-row
// one, and MatMul's few-token path).
func dotMXFP4RowAVX512(row []byte, x, _, _ []float32) float32 {
	nblk := len(x) / qk
	if nblk == 0 {
		return 0
	}
	_ = row[nblk*mxfp4Bytes-1]
	return mxfp4Dot1AVX512(&row[0], &x[0], nblk, e8m0HalfTable)
}

//go:noescape
func mxfp4Dot1x4AVX512(w *byte, x *float32, xstride int, nblk int, scales *[256]float32, out *[4]float32)

// dotMXFP4Tokens4AVX512 multiplies one stored MXFP4 row by four activation
// rows x[0:cols], x[cols:2·cols], ... (cols = 32·blocks used).
func dotMXFP4Tokens4AVX512(row []byte, x []float32, cols int, out *[4]float32) {
	nblk := cols / qk
	if nblk == 0 {
		*out = [4]float32{}
		return
	}
	_ = row[nblk*mxfp4Bytes-1]
	_ = x[4*cols-1]
	mxfp4Dot1x4AVX512(&row[0], &x[0], 4*cols, nblk, e8m0HalfTable, out)
}

//go:noescape
func dequantMXFP4AVX512(dst *float32, w *byte, nblk int, scales *[256]float32)

// dequantMXFP4RowAVX512 decodes one row (MatMul's tiles).
func dequantMXFP4RowAVX512(dst []float32, src []byte) {
	nblk := len(dst) / qk
	if nblk == 0 {
		return
	}
	_ = src[nblk*mxfp4Bytes-1]
	dequantMXFP4AVX512(&dst[0], &src[0], nblk, e8m0HalfTable)
}
