package quant

import "math"

// Q4_0 (18 bytes: half d, 16 bytes of nibbles) and Q4_1 (20 bytes: half d,
// half m, 16 bytes of nibbles), 32 elements per block. Byte j holds element
// j in its low nibble and element j+16 in its high nibble.

const (
	qk4_0     = 32
	blockQ4_0 = 18
	blockQ4_1 = 20
)

// signedMax returns the element of largest magnitude (the first of equals)
// with its sign, as the symmetric reference quantizers pick it.
func signedMax(x []float32) float32 {
	var amax, max float32
	for _, v := range x {
		if a := absf(v); amax < a {
			amax, max = a, v
		}
	}
	return max
}

// minMax returns the smallest and largest element (FLT_MAX/-FLT_MAX start).
func minMax(x []float32) (float32, float32) {
	min, max := float32(math.MaxFloat32), float32(-math.MaxFloat32)
	for _, v := range x {
		if v < min {
			min = v
		}
		if v > max {
			max = v
		}
	}
	return min, max
}

func quantizeQ4_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/qk4_0; b++ {
		x := src[b*qk4_0 : (b+1)*qk4_0]
		y := dst[b*blockQ4_0 : (b+1)*blockQ4_0]
		d := signedMax(x) / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(y, d)
		for j := 0; j < 16; j++ {
			x0 := float32(x[j] * id)
			x1 := float32(x[16+j] * id)
			q0 := min(15, int8(x0+8.5))
			q1 := min(15, int8(x1+8.5))
			y[2+j] = byte(q0) | byte(q1)<<4
		}
	}
}

func dequantizeQ4_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qk4_0; b++ {
		y := dst[b*qk4_0 : (b+1)*qk4_0]
		x := src[b*blockQ4_0 : (b+1)*blockQ4_0]
		d := half(x)
		for j := 0; j < 16; j++ {
			y[j] = float32(int(x[2+j]&0xf)-8) * d
			y[j+16] = float32(int(x[2+j]>>4)-8) * d
		}
	}
}

func quantizeQ4_1(dst []byte, src []float32) {
	for b := 0; b < len(src)/qk4_0; b++ {
		x := src[b*qk4_0 : (b+1)*qk4_0]
		y := dst[b*blockQ4_1 : (b+1)*blockQ4_1]
		min, max := minMax(x)
		d := (max - min) / 15
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(y, d)
		putHalf(y[2:], min)
		for j := 0; j < 16; j++ {
			x0 := float32((x[j] - min) * id)
			x1 := float32((x[16+j] - min) * id)
			q0 := minI8(15, int8(x0+0.5))
			q1 := minI8(15, int8(x1+0.5))
			y[4+j] = byte(q0) | byte(q1)<<4
		}
	}
}

func dequantizeQ4_1(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qk4_0; b++ {
		y := dst[b*qk4_0 : (b+1)*qk4_0]
		x := src[b*blockQ4_1 : (b+1)*blockQ4_1]
		d, m := half(x), half(x[2:])
		for j := 0; j < 16; j++ {
			y[j] = float32(float32(x[4+j]&0xf)*d) + m
			y[j+16] = float32(float32(x[4+j]>>4)*d) + m
		}
	}
}

func minI8(a, b int8) int8 { return min(a, b) }
