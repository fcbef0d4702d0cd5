package quant

import (
	"encoding/binary"
	"math"
)

// Q8_K: 292 bytes per 256 elements, the activation type of the K-quant
// dot products. float32 d @0, int8 qs[256] @4, int16 bsums[16] @260 (sums
// of each 16 quants).

const blockQ8_K = 292

func quantizeQ8_K(dst []byte, src []float32) {
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		y := dst[b*blockQ8_K : (b+1)*blockQ8_K]
		var max, amax float32
		for _, v := range x {
			if a := absf(v); a > amax {
				amax, max = a, v
			}
		}
		if amax == 0 {
			// The reference leaves bsums untouched here; zero is what a
			// zeroed block holds and keeps the output deterministic.
			clear(y)
			continue
		}
		iscale := -127 / max
		for j, v := range x {
			y[4+j] = byte(int8(min(127, nearestInt(float32(iscale*v)))))
		}
		for j := 0; j < 16; j++ {
			var sum int16
			for ii := 0; ii < 16; ii++ {
				sum += int16(int8(y[4+16*j+ii]))
			}
			binary.LittleEndian.PutUint16(y[260+2*j:], uint16(sum))
		}
		binary.LittleEndian.PutUint32(y, math.Float32bits(1/iscale))
	}
}

func dequantizeQ8_K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qkK; b++ {
		y := dst[b*qkK : (b+1)*qkK]
		x := src[b*blockQ8_K : (b+1)*blockQ8_K]
		d := math.Float32frombits(binary.LittleEndian.Uint32(x))
		for j := range y {
			y[j] = d * float32(int8(x[4+j]))
		}
	}
}
