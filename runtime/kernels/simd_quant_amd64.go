package kernels

import (
	"encoding/binary"

	"github.com/gguftool/gguftool/gguf"
)

//go:noescape
func dotMXFP4AVX2(row []byte, x []float32, scales *[256]float32) float32

//go:noescape
func dotQ4_0AVX2(row []byte, x []float32) float32

// e8m0HalfTable[e] = 2^(e−128), the MXFP4 block scale for the doubled codes.
var e8m0HalfTable = func() *[256]float32 {
	var t [256]float32
	for e := range t {
		t[e] = e8m0Half(uint8(e))
	}
	return &t
}()

func dotMXFP4SIMD(row []byte, x, _, _ []float32) float32 {
	return dotMXFP4AVX2(row[:len(x)/qk*mxfp4Bytes], x, e8m0HalfTable)
}

func dotQ4_0SIMD(row []byte, x, _, _ []float32) float32 {
	return dotQ4_0AVX2(row[:len(x)/qk*q40Bytes], x)
}

//go:noescape
func dotBF16AVX2(row []byte, x []float32) float32

// dotBF16SIMD handles rows whose length is not a multiple of 8 with a
// portable tail.
func dotBF16SIMD(row []byte, x, _, _ []float32) float32 {
	n8 := len(x) &^ 7
	s := dotBF16AVX2(row[:2*n8], x[:n8])
	for i := n8; i < len(x); i++ {
		s += BF16ToF32(binary.LittleEndian.Uint16(row[2*i:])) * x[i]
	}
	return s
}

//go:noescape
func dotF16AVX2(row []byte, x []float32) float32

func dotF16SIMD(row []byte, x, _, _ []float32) float32 {
	n16 := len(x) &^ 15
	s := dotF16AVX2(row[:2*n16], x[:n16])
	for i := n16; i < len(x); i++ {
		s += f16Table[binary.LittleEndian.Uint16(row[2*i:])] * x[i]
	}
	return s
}

//go:noescape
func dequantMXFP4AVX2(dst []float32, row []byte, scales *[256]float32)

//go:noescape
func dequantQ4_0AVX2(dst []float32, row []byte)

//go:noescape
func dequantQ8_0AVX2(dst []float32, row []byte)

// simdDequant are the SIMD row decoders MatMul's tiles use, by type.
var simdDequant = map[gguf.Type]func(dst []float32, src []byte){
	gguf.TypeMXFP4: func(dst []float32, src []byte) {
		dequantMXFP4AVX2(dst, src[:len(dst)/qk*mxfp4Bytes], e8m0HalfTable)
	},
	gguf.TypeQ4_0: func(dst []float32, src []byte) { dequantQ4_0AVX2(dst, src[:len(dst)/qk*q40Bytes]) },
	gguf.TypeQ8_0: func(dst []float32, src []byte) { dequantQ8_0AVX2(dst, src[:len(dst)/qk*q80Bytes]) },
	gguf.TypeF16:  func(dst []float32, src []byte) { f16ToF32F16C(dst, src[:2*len(dst)]) },
	gguf.TypeQ4_K: dequantQ4KSIMD,
	gguf.TypeQ5_0: dequantQ5_0SIMD,
	gguf.TypeQ6_K: dequantQ6KSIMD,
	gguf.TypeBF16: dequantBF16SIMD,
	gguf.TypeQ5_K: dequantQ5KSIMD,
}

//go:noescape
func q4kDequantAVX2(q *byte, dst *float32, sc *[16]float32)

//go:noescape
func q5kDequantAVX2(ql, qh *byte, dst *float32, sc *[16]float32)

// kScales fills sc with d·scale_j and dmin·min_j of a Q4_K/Q5_K super-block.
func kScales(blk []byte, sc *[16]float32) {
	d := f16Table[binary.LittleEndian.Uint16(blk)]
	dmin := f16Table[binary.LittleEndian.Uint16(blk[2:])]
	for j := range 8 {
		s, m := scaleMinK4(j, blk[4:16])
		sc[j] = d * float32(s)
		sc[8+j] = dmin * float32(m)
	}
}

func dequantQ4KSIMD(dst []float32, src []byte) {
	var sc [16]float32
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*q4KBytes : (b+1)*q4KBytes]
		kScales(blk, &sc)
		q4kDequantAVX2(&blk[16], &dst[b*qkK], &sc)
	}
}

func dequantQ5KSIMD(dst []float32, src []byte) {
	var sc [16]float32
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*q5KBytes : (b+1)*q5KBytes]
		kScales(blk, &sc)
		q5kDequantAVX2(&blk[48], &blk[16], &dst[b*qkK], &sc)
	}
}
