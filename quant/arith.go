package quant

import "math"

// The reference quantizers are float32 code with one rounding per
// operation. Go may fuse x*y+z into an FMA on arm64 and amd64 v3, which
// changes K-quant bytes, so every product that feeds an addition is
// written float32(x*y): an explicit conversion forces the rounding.

// groupMaxEps is ggml's GROUP_MAX_EPS: groups whose largest magnitude is
// below it quantize to zero.
const groupMaxEps = 1e-15

// nearestInt is ggml's nearest_int: round half to even through the
// 1.5·2^23 trick, valid for |f| ≤ 4194303.
func nearestInt(f float32) int {
	v := f + 12582912.0
	i := int32(math.Float32bits(v))
	return int(i&0x7fffff) - 0x400000
}

// roundf is C's roundf: halves away from zero.
func roundf(f float32) float32 { return float32(math.Round(float64(f))) }

func absf(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

func clampInt(x, lo, hi int) int {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}
