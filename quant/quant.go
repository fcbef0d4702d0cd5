// Package quant quantizes and dequantizes tensor rows in ggml's block
// formats, bit for bit equal to ggml's reference (_ref) quantizers, which
// are what llama-quantize uses when no importance matrix is given.
//
// Each block family lives in its own file; the functions here dispatch on
// the type. Blocks are independent, so any whole number of blocks can be
// (de)quantized at once, and ranges of blocks can go to different cores
// (see QuantizeParallel).
//
// The K-quant scale searches (ksearch.go) have a faster form that runs the
// sub-blocks of a super-block as the eight lanes of an AVX2 vector
// (ksearch_lanes.go, ksearch_amd64.s); every lane performs the scalar
// code's float32 operations in order, so both forms give the same bytes,
// which the tests check against each other and against llama-quantize.
//
// Policy is apart from mechanics: recipe.go and plan.go choose the type of
// every tensor as llama-quantize does (plus gguftool's expert/dense
// recipe), and model.go streams a whole model through the quantizers.
package quant

import (
	"fmt"

	"github.com/gguftool/gguftool/gguf"
)

// codec is the pair of block functions of one type. quantize gets a whole
// number of blocks and a dst of exactly the matching size.
type codec struct {
	quantize   func(dst []byte, src []float32)
	dequantize func(dst []float32, src []byte)
}

var codecs = map[gguf.Type]codec{
	gguf.TypeF32:   {quantizeF32, dequantizeF32},
	gguf.TypeF16:   {quantizeF16, dequantizeF16},
	gguf.TypeBF16:  {quantizeBF16, dequantizeBF16},
	gguf.TypeQ4_0:  {quantizeQ4_0, dequantizeQ4_0},
	gguf.TypeQ4_1:  {quantizeQ4_1, dequantizeQ4_1},
	gguf.TypeQ5_0:  {quantizeQ5_0, dequantizeQ5_0},
	gguf.TypeQ5_1:  {quantizeQ5_1, dequantizeQ5_1},
	gguf.TypeQ8_0:  {quantizeQ8_0, dequantizeQ8_0},
	gguf.TypeQ2_K:  {quantizeQ2_K, dequantizeQ2_K},
	gguf.TypeQ3_K:  {quantizeQ3_K, dequantizeQ3_K},
	gguf.TypeQ4_K:  {quantizeQ4_K, dequantizeQ4_K},
	gguf.TypeQ5_K:  {quantizeQ5_K, dequantizeQ5_K},
	gguf.TypeQ6_K:  {quantizeQ6_K, dequantizeQ6_K},
	gguf.TypeQ8_K:  {quantizeQ8_K, dequantizeQ8_K},
	gguf.TypeMXFP4: {quantizeMXFP4, dequantizeMXFP4},
}

// Supported reports whether t can be quantized and dequantized here.
func Supported(t gguf.Type) bool {
	_, ok := codecs[t]
	return ok
}

// SupportedTypes lists the supported types in id order.
func SupportedTypes() []gguf.Type {
	var ts []gguf.Type
	for _, t := range gguf.Types() {
		if Supported(t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// checkSizes checks that t is supported, that n elements are whole blocks
// of t and that they take exactly nbytes; it returns the number of blocks.
func checkSizes(t gguf.Type, n, nbytes int) (int, error) {
	if !Supported(t) {
		return 0, fmt.Errorf("quant: type %s is not supported", t)
	}
	bs := t.BlockSize()
	if n%bs != 0 {
		return 0, fmt.Errorf("quant: %d elements are not a whole number of %s blocks of %d", n, t, bs)
	}
	nb := n / bs
	if nb*t.TypeSize() != nbytes {
		return 0, fmt.Errorf("quant: %d %s elements take %d bytes, buffer has %d", n, t, nb*t.TypeSize(), nbytes)
	}
	return nb, nil
}

// Quantize encodes src, a whole number of blocks of t, into dst, which must
// be exactly the encoded size (t.RowSize(len(src))).
func Quantize(t gguf.Type, dst []byte, src []float32) error {
	if _, err := checkSizes(t, len(src), len(dst)); err != nil {
		return err
	}
	codecs[t].quantize(dst, src)
	return nil
}

// Dequantize decodes src, a whole number of blocks of t, into dst, which
// must hold exactly the number of elements src encodes.
func Dequantize(t gguf.Type, dst []float32, src []byte) error {
	if _, err := checkSizes(t, len(dst), len(src)); err != nil {
		return err
	}
	codecs[t].dequantize(dst, src)
	return nil
}
