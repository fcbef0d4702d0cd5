package quant

import "math"

// FP32ToFP16 converts f to IEEE binary16 bits exactly as ggml's
// GGML_FP32_TO_FP16: round to nearest even, subnormals included; values
// from 65520 up become infinity and every NaN becomes 0x7E00 (with sign).
func FP32ToFP16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	abs := b & 0x7fffffff
	switch {
	case abs > 0x7f800000: // NaN
		return sign | 0x7e00
	case abs >= 0x477ff000: // ≥ 65520 rounds past the largest half (65504)
		return sign | 0x7c00
	case abs < 0x38800000: // below 2^-14: a half subnormal (or zero)
		e := abs >> 23
		if e < 102 { // below 2^-25: rounds to zero (2^-25 itself is a tie to even 0)
			return sign
		}
		m := abs&0x7fffff | 0x800000
		shift := 126 - e // m·2^(e-150) in units of 2^-24
		q := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && q&1 == 1 {
			q++ // may carry into the smallest normal, which is the right encoding
		}
		return sign | uint16(q)
	}
	h := (abs>>23-112)<<10 | (abs&0x7fffff)>>13
	rem := abs & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // a carry into the exponent is the correct rounding
	}
	return sign | uint16(h)
}

// FP16ToFP32 converts IEEE binary16 bits to float32 exactly.
func FP16ToFP32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	e := uint32(h>>10) & 0x1f
	m := uint32(h & 0x3ff)
	switch {
	case e == 0x1f: // inf, NaN (payload kept)
		return math.Float32frombits(sign | 0x7f800000 | m<<13)
	case e != 0:
		return math.Float32frombits(sign | (e+112)<<23 | m<<13)
	case m == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: m·2^-24, exact in float32.
	v := float32(m) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}

// FP32ToBF16 converts f to bfloat16 bits as ggml's GGML_FP32_TO_BF16:
// round to nearest even; a NaN keeps its top bits and is made quiet.
func FP32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16 | 0x40)
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}

// BF16ToFP32 converts bfloat16 bits to float32 (exact).
func BF16ToFP32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// fp16Table holds FP16ToFP32 for every half, since dequantizers decode a
// scale per block.
var fp16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = FP16ToFP32(uint16(i))
	}
	return &t
}()

// half decodes a little-endian half at b[0:2].
func half(b []byte) float32 { return fp16Table[uint16(b[0])|uint16(b[1])<<8] }

// putHalf stores f as a little-endian half at b[0:2].
func putHalf(b []byte, f float32) {
	h := FP32ToFP16(f)
	b[0], b[1] = byte(h), byte(h>>8)
}
