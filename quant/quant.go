// Package quant quantizes and dequantizes tensor rows in ggml's block
// formats, bit for bit equal to ggml's reference (_ref) quantizers, which
// are what llama-quantize uses when no importance matrix is given.
//
// Each block family lives in its own file; the functions here dispatch on
// the type. Blocks are independent, so any whole number of blocks can be
// (de)quantized at once, and ranges of blocks can go to different cores
// (see QuantizeParallel).
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

// sizes checks that n elements are whole blocks of t and returns the
// number of bytes they take.
func sizes(t gguf.Type, n int) (int, error) {
	bs := t.BlockSize()
	if bs == 0 {
		return 0, fmt.Errorf("quant: unknown type %s", t)
	}
	if n%bs != 0 {
		return 0, fmt.Errorf("quant: %d elements are not a whole number of %s blocks of %d", n, t, bs)
	}
	return n / bs * t.TypeSize(), nil
}

// Quantize encodes src, a whole number of blocks of t, into dst, which must
// be exactly the encoded size (t.RowSize(len(src))).
func Quantize(t gguf.Type, dst []byte, src []float32) error {
	c, ok := codecs[t]
	if !ok {
		return fmt.Errorf("quant: cannot quantize to %s", t)
	}
	nb, err := sizes(t, len(src))
	if err != nil {
		return err
	}
	if len(dst) != nb {
		return fmt.Errorf("quant: %d %s elements take %d bytes, destination has %d", len(src), t, nb, len(dst))
	}
	c.quantize(dst, src)
	return nil
}

// Dequantize decodes src, a whole number of blocks of t, into dst, which
// must hold exactly the number of elements src encodes.
func Dequantize(t gguf.Type, dst []float32, src []byte) error {
	c, ok := codecs[t]
	if !ok {
		return fmt.Errorf("quant: cannot dequantize %s", t)
	}
	nb, err := sizes(t, len(dst))
	if err != nil {
		return err
	}
	if len(src) != nb {
		return fmt.Errorf("quant: %d %s elements take %d bytes, source has %d", len(dst), t, nb, len(src))
	}
	c.dequantize(dst, src)
	return nil
}
