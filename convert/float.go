package convert

import (
	"encoding/binary"
	"math"
)

// Element decoding from safetensors dtypes and encoding to the GGUF float
// types. Every conversion to float32 is exact (BF16, F16, F8_E4M3, 8-bit
// integers all fit), which is why the converter can route every tensor
// through float32 and still write the bytes llama.cpp writes.

// decodeFunc converts n elements starting at element index i of src.
type decodeFunc func(dst []float32, src []byte)

func decoder(d DType) decodeFunc {
	switch d {
	case F32:
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
			}
		}
	case F16:
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = f16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
			}
		}
	case BF16:
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
			}
		}
	case U8:
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = float32(src[i])
			}
		}
	case I8:
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = float32(int8(src[i]))
			}
		}
	case F8E4M3:
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = e4m3ToF32(src[i])
			}
		}
	}
	return nil
}

// f16ToF32 decodes an IEEE binary16 value exactly.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0:
		if man == 0 {
			return math.Float32frombits(sign)
		}
		v := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// e4m3ToF32 decodes an OCP FP8 E4M3FN value (bias 7, no infinities,
// S.1111.111 is NaN).
func e4m3ToF32(b byte) float32 {
	sign := float32(1)
	if b&0x80 != 0 {
		sign = -1
	}
	exp := int(b>>3) & 0xf
	man := int(b) & 7
	if exp == 0xf && man == 7 {
		return float32(math.NaN())
	}
	if exp == 0 {
		return sign * float32(man) * (1.0 / 512) // man/8 * 2^-6
	}
	return sign * float32(math.Ldexp(1+float64(man)/8, exp-7))
}

// f32ToF16 rounds to IEEE binary16, nearest-even, subnormals included;
// overflow gives infinity, NaN a quiet NaN (what ggml and numpy do).
func f32ToF16(f float32) uint16 {
	u := math.Float32bits(f)
	sign := uint16(u>>16) & 0x8000
	a := u & 0x7fffffff
	switch {
	case a > 0x7f800000: // NaN
		return sign | 0x7e00 | uint16(a>>13)&0x1ff
	case a >= 0x477ff000: // rounds to >= 65520: infinity
		return sign | 0x7c00
	case a >= 0x38800000: // normal half
		// Add the rounding bias (half ulp minus one, plus the lsb for ties to even).
		r := a + 0xfff + (a>>13)&1
		return sign | uint16((r-0x38000000)>>13)
	case a < 0x33000000: // below half the smallest subnormal: zero
		return sign
	}
	// Subnormal half: value = m * 2^-24.
	e := a >> 23
	m := a&0x7fffff | 0x800000
	shift := 126 - e // 113 - e + 13
	half := uint32(1) << (shift - 1)
	q := m >> shift
	rem := m & (1<<shift - 1)
	if rem > half || (rem == half && q&1 == 1) {
		q++
	}
	return sign | uint16(q)
}

// f32ToBF16 rounds to bfloat16 as ggml's GGML_FP32_TO_BF16 and gguf-py do.
func f32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 0x40
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}
