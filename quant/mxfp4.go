package quant

import "math"

// MXFP4 (OCP microscaling FP4): 17 bytes per 32 elements, one E8M0 scale
// byte and 16 bytes of E2M1 codes with the Q4 nibble rule. ggml keeps the
// code values doubled (kvalues) and halves the scale to compensate.

const blockMXFP4 = 17

// kvaluesMXFP4 are the E2M1 values ×2, by code; code 8 is -0.
var kvaluesMXFP4 = [16]int8{0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12}

// e8m0Half is GGML_E8M0_TO_FP32_HALF: 2^(e-128), with the two denormal
// results for e < 2.
func e8m0Half(e uint8) float32 {
	if e < 2 {
		return math.Float32frombits(0x00200000 << e)
	}
	return math.Float32frombits(uint32(e-1) << 23)
}

// mxfp4Grid is kvalues_mxfp4[i]·d for one block, computed once per block
// rather than per element (the same float32 products).
type mxfp4Grid [16]float32

func newMXFP4Grid(d float32) *mxfp4Grid {
	var g mxfp4Grid
	for i, k := range kvaluesMXFP4 {
		g[i] = float32(k) * d
	}
	return &g
}

// best returns the code nearest to x; the first of equal distances wins,
// so +0 beats -0 and ties go to the lower code.
func (g *mxfp4Grid) best(x float32) byte {
	best := 0
	bestErr := absf(g[0] - x)
	for i := 1; i < 16; i++ {
		if err := absf(g[i] - x); err < bestErr {
			best, bestErr = i, err
		}
	}
	return byte(best)
}

func quantizeMXFP4(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		y := dst[b*blockMXFP4 : (b+1)*blockMXFP4]
		var amax float32
		for _, v := range x {
			if a := absf(v); amax < a {
				amax = a
			}
		}
		var e uint8
		if amax > 0 {
			// (uint8_t) of the float floor(log2(amax)) - 2 + 127, which x86
			// converts through a 32-bit integer.
			fl := float32(math.Floor(float64(float32(math.Log2(float64(amax))))))
			e = uint8(int32(fl - 2 + 127))
		}
		g := newMXFP4Grid(e8m0Half(e))
		y[0] = e
		if useLanes {
			var codes [32]int32
			mxfp4Codes(g, (*[32]float32)(x), &codes)
			for j := 0; j < 16; j++ {
				y[1+j] = byte(codes[j]) | byte(codes[16+j])<<4
			}
			continue
		}
		for j := 0; j < 16; j++ {
			y[1+j] = g.best(x[j]) | g.best(x[16+j])<<4
		}
	}
}

func dequantizeMXFP4(dst []float32, src []byte) {
	for b := 0; b < len(dst)/32; b++ {
		y := dst[b*32 : (b+1)*32]
		x := src[b*blockMXFP4 : (b+1)*blockMXFP4]
		d := e8m0Half(x[0])
		for j := 0; j < 16; j++ {
			y[j] = float32(kvaluesMXFP4[x[1+j]&0xf]) * d
			y[j+16] = float32(kvaluesMXFP4[x[1+j]>>4]) * d
		}
	}
}

// mxfp4CodesGo is the Go form of the vector code search.
func mxfp4CodesGo(g *mxfp4Grid, x *[32]float32, codes *[32]int32) {
	for j, v := range x {
		codes[j] = int32(g.best(v))
	}
}
