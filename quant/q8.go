package quant

// Q8_0: 34 bytes per 32 elements (half d, 32 int8). The converter's
// --outtype q8_0 uses the same code (gguf-py's numpy Q8_0 gives the same
// bytes).

const blockQ8_0 = 34

func quantizeQ8_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		y := dst[b*blockQ8_0 : (b+1)*blockQ8_0]
		var amax float32
		for _, v := range x {
			amax = max(amax, absf(v))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(y, d) // the quants use the unrounded d
		for j, v := range x {
			y[2+j] = byte(int8(roundf(float32(v * id))))
		}
	}
}

func dequantizeQ8_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/32; b++ {
		y := dst[b*32 : (b+1)*32]
		x := src[b*blockQ8_0 : (b+1)*blockQ8_0]
		d := half(x)
		for j := range y {
			y[j] = float32(int8(x[2+j])) * d
		}
	}
}
