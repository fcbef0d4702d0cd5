package kernels

import "github.com/gguftool/gguftool/gguf"

//go:noescape
func dotQ4KRowAVX512(row []byte, x []float32, xsum *float32) float32

//go:noescape
func dotQ5KRowAVX512(row []byte, x []float32, xsum *float32) float32

//go:noescape
func dotQ6KRowAVX512(row []byte, x []float32) float32

// dotQ4KRowFusedAVX512 is the whole-row Q4_K kernel of the AVX-512 set
// (fusedDot; xsum is Σx per 32 for the mins).
func dotQ4KRowFusedAVX512(row []byte, x, xsum, _ []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	_ = xsum[len(x)/qk-1]
	return dotQ4KRowAVX512(row[:len(x)/qkK*q4KBytes], x, &xsum[0])
}

// dotQ5KRowFusedAVX512 is the whole-row Q5_K kernel of the AVX-512 set.
func dotQ5KRowFusedAVX512(row []byte, x, xsum, _ []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	_ = xsum[len(x)/qk-1]
	return dotQ5KRowAVX512(row[:len(x)/qkK*q5KBytes], x, &xsum[0])
}

// dotQ6KRowFusedAVX512 is the whole-row Q6_K kernel of the AVX-512 set.
func dotQ6KRowFusedAVX512(row []byte, x, _, _ []float32) float32 {
	return dotQ6KRowAVX512(row[:len(x)/qkK*q6KBytes], x)
}

// useKQuantAVX512 puts the K-quant AVX-512 row kernels (MatVec, and MatMul's
// leftover tokens) and four-token kernels (MatMul's few-token path) into the
// active set (called by useAVX512, after the AVX2 set is in place).
func useKQuantAVX512() {
	fusedDots[gguf.TypeQ4_K] = dotQ4KRowFusedAVX512
	fusedDots[gguf.TypeQ5_K] = dotQ5KRowFusedAVX512
	fusedDots[gguf.TypeQ6_K] = dotQ6KRowFusedAVX512
	tokenDots4[gguf.TypeQ4_K] = dotQ4KTokens4AVX512
	tokenDots4[gguf.TypeQ5_K] = dotQ5KTokens4AVX512
	tokenDots4[gguf.TypeQ6_K] = dotQ6KTokens4AVX512
}

//go:noescape
func q4kDot1x4AVX512(w *byte, x *float32, xstride int, nblk int, out *[4]float32)

// dotQ4KTokens4AVX512 multiplies one stored Q4_K row by four activation rows
// (x[0:4·cols]), decoding the row once for the four (tokenDot4).
func dotQ4KTokens4AVX512(row []byte, x []float32, cols int, out *[4]float32) {
	nblk := cols / qkK
	if nblk == 0 {
		*out = [4]float32{}
		return
	}
	_ = row[nblk*q4KBytes-1]
	_ = x[4*cols-1]
	q4kDot1x4AVX512(&row[0], &x[0], 4*cols, nblk, out)
}

//go:noescape
func q6kDot1x4AVX512(w *byte, x *float32, xstride int, nblk int, out *[4]float32)

// dotQ6KTokens4AVX512 multiplies one stored Q6_K row by four activation rows
// (x[0:4·cols]), decoding the row once for the four (tokenDot4).
func dotQ6KTokens4AVX512(row []byte, x []float32, cols int, out *[4]float32) {
	nblk := cols / qkK
	if nblk == 0 {
		*out = [4]float32{}
		return
	}
	_ = row[nblk*q6KBytes-1]
	_ = x[4*cols-1]
	q6kDot1x4AVX512(&row[0], &x[0], 4*cols, nblk, out)
}

//go:noescape
func q5kDot1x4AVX512(w *byte, x *float32, xstride int, nblk int, out *[4]float32)

// dotQ5KTokens4AVX512 multiplies one stored Q5_K row by four activation rows
// (x[0:4·cols]), decoding the row once for the four (tokenDot4).
func dotQ5KTokens4AVX512(row []byte, x []float32, cols int, out *[4]float32) {
	nblk := cols / qkK
	if nblk == 0 {
		*out = [4]float32{}
		return
	}
	_ = row[nblk*q5KBytes-1]
	_ = x[4*cols-1]
	q5kDot1x4AVX512(&row[0], &x[0], 4*cols, nblk, out)
}
