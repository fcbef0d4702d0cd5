package kernels

import "math"

// f16Table maps every IEEE binary16 bit pattern to its float32 value. A 256 KiB
// table is faster than bit manipulation in the portable dequantizers and is
// exact for every input, subnormals and NaNs included.
var f16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = halfToFloat(uint16(i))
	}
	return &t
}()

// F16ToF32 converts an IEEE binary16 value to float32.
func F16ToF32(h uint16) float32 { return f16Table[h] }

func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN keeps its payload.
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		// Zero or subnormal: mant·2^-24 is exact in float32.
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	default:
		return math.Float32frombits(sign | uint32(exp-15+127)<<23 | mant<<13)
	}
}

// BF16ToF32 converts a bfloat16 value (the upper half of a float32) to float32.
func BF16ToF32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// e8m0Half returns 2^(e-128): the MXFP4 block scale halved, because the fp4
// code table below stores doubled values so that it fits in int8.
func e8m0Half(e uint8) float32 {
	return float32(math.Ldexp(1, int(e)-128))
}
