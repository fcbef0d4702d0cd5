package synth

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strings"

	"github.com/gguftool/gguftool/gguf"
)

// rng is wyrand: one multiply per 8 random bytes, far faster than a disk.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(r.s, r.s^0xe7037ed1a0b428db)
	return hi ^ lo
}

// fillRandom fills b with random bytes.
func (r *rng) fillRandom(b []byte) {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.next())
	}
	if i < len(b) {
		var tail [8]byte
		binary.LittleEndian.PutUint64(tail[:], r.next())
		copy(b[i:], tail[:])
	}
}

// valueKind says what values a float tensor should hold so that a model
// built from the file computes finite numbers and routes tokens to many
// experts: norms near 1, rope factors 1, routers with a wide spread,
// everything else small.
type valueKind int

const (
	kindWeight valueKind = iota
	kindNorm
	kindOne
	kindRouter
	kindBias
)

func kindOf(name string) valueKind {
	switch {
	case strings.HasPrefix(name, "rope_factors"):
		return kindOne
	case strings.Contains(name, "_norm.weight"):
		return kindNorm
	case strings.Contains(name, "ffn_gate_inp.weight"):
		return kindRouter
	case strings.HasSuffix(name, ".bias") || strings.Contains(name, "attn_sinks"):
		return kindBias
	}
	return kindWeight
}

// Sane block scales: fp16 bit patterns of about 1e-3 (exponent field 5,
// 2^-10, random mantissa) and E8M0 exponents 118–122 for MXFP4, as
// performance.md §1.2 suggests.
const (
	f16ScaleBase = 0x1400
	f16ScaleMask = 0x03ff
)

// fill writes valid random data of type typ into b, which holds whole
// blocks (or whole elements for float types).
func (r *rng) fill(b []byte, typ gguf.Type, kind valueKind) error {
	switch typ {
	case gguf.TypeF32:
		for i := 0; i+4 <= len(b); i += 4 {
			u := float32(r.next()>>40) / (1 << 24) // [0, 1)
			var v float32
			switch kind {
			case kindOne:
				v = 1
			case kindNorm:
				v = 1 + (u-0.5)*0.1
			case kindRouter:
				v = (u - 0.5) * 0.2
			default:
				v = (u - 0.5) * 0.04
			}
			binary.LittleEndian.PutUint32(b[i:], math.Float32bits(v))
		}
		return nil
	case gguf.TypeF16:
		// Random sign and mantissa, exponent field 8..11: |x| in [2^-7, 2^-3).
		for i := 0; i+8 <= len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], r.next()&0x8FFF8FFF8FFF8FFF|0x2000200020002000)
		}
		if rem := len(b) % 8; rem > 0 {
			var tail [8]byte
			binary.LittleEndian.PutUint64(tail[:], r.next()&0x8FFF8FFF8FFF8FFF|0x2000200020002000)
			copy(b[len(b)-rem:], tail[:])
		}
		return nil
	case gguf.TypeBF16:
		// Exponent 120..123: |x| in [2^-7, 2^-3).
		for i := 0; i+8 <= len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], r.next()&0x81FF81FF81FF81FF|0x3C003C003C003C00)
		}
		if rem := len(b) % 8; rem > 0 {
			var tail [8]byte
			binary.LittleEndian.PutUint64(tail[:], r.next()&0x81FF81FF81FF81FF|0x3C003C003C003C00)
			copy(b[len(b)-rem:], tail[:])
		}
		return nil
	}
	// Quantized: random codes, then a sane scale written over each block's
	// scale fields.
	var scales []int // byte offsets of fp16 scales inside a block
	switch typ {
	case gguf.TypeQ4_0, gguf.TypeQ5_0, gguf.TypeQ8_0, gguf.TypeIQ4_NL:
		scales = []int{0}
	case gguf.TypeQ4_1, gguf.TypeQ5_1, gguf.TypeQ4_K, gguf.TypeQ5_K:
		scales = []int{0, 2}
	case gguf.TypeQ6_K:
		scales = []int{208}
	case gguf.TypeQ2_K:
		scales = []int{80, 82}
	case gguf.TypeQ3_K:
		scales = []int{108}
	case gguf.TypeMXFP4:
	default:
		return fmt.Errorf("synth cannot generate %s data", typ)
	}
	bs := typ.TypeSize()
	if len(b)%bs != 0 {
		return fmt.Errorf("internal: %d bytes is not a whole number of %s blocks", len(b), typ)
	}
	r.fillRandom(b)
	for off := 0; off < len(b); off += bs {
		x := r.next()
		if typ == gguf.TypeMXFP4 {
			b[off] = 118 + byte(x%5)
			continue
		}
		for _, s := range scales {
			binary.LittleEndian.PutUint16(b[off+s:], uint16(f16ScaleBase|x&f16ScaleMask))
			x >>= 10
		}
	}
	return nil
}
