package quant

// Q2_K: 84 bytes per 256 elements. scales[16] (low nibble scale, high
// nibble min per 16-element sub-block) @0, qs[64] @16 (2-bit levels),
// half d @80, half dmin @82. x = d·sc·L − dmin·m.

const (
	qkK       = 256
	blockQ2_K = 84
)

func quantizeQ2_K(dst []byte, src []float32) {
	var (
		L       [qkK]uint8
		Laux    [16]uint8
		weights [16]float32
		scales  [16]float32
		mins    [16]float32
	)
	const q4scale = 15
	lb := new(laneBlock)
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		y := dst[b*blockQ2_K : (b+1)*blockQ2_K]
		if useLanes {
			// Sub-blocks 0-7 and 8-15 searched side by side.
			for half := 0; half < 2; half++ {
				for k := 0; k < lanes; k++ {
					j := 8*half + k
					for l := 0; l < 16; l++ {
						v := x[16*j+l]
						lb.x[l][k], lb.w[l][k] = v, absf(v)
					}
				}
				sc, mn := makeQKX2Quants8(lb, 16, 3, -0.5, 0.1, 15, true)
				for k := 0; k < lanes; k++ {
					j := 8*half + k
					scales[j], mins[j] = sc[k], mn[k]
					for l := 0; l < 16; l++ {
						L[16*j+l] = uint8(lb.l[l][k])
					}
				}
			}
		} else {
			for j := 0; j < 16; j++ {
				xs := x[16*j : 16*j+16]
				for l, v := range xs {
					weights[l] = absf(v)
				}
				scales[j], mins[j] = makeQKX2Quants(3, xs, weights[:], L[16*j:16*j+16], Laux[:], -0.5, 0.1, 15, true)
			}
		}
		var maxScale, maxMin float32
		for j := 0; j < 16; j++ {
			if scales[j] > maxScale {
				maxScale = scales[j]
			}
			if mins[j] > maxMin {
				maxMin = mins[j]
			}
		}
		sc := y[:16]
		if maxScale > 0 {
			iscale := q4scale / maxScale
			for j := range 16 {
				sc[j] = uint8(nearestInt(float32(iscale * scales[j])))
			}
			putHalf(y[80:], maxScale/q4scale)
		} else {
			clear(sc)
			putHalf(y[80:], 0)
		}
		if maxMin > 0 {
			iscale := q4scale / maxMin
			for j := range 16 {
				sc[j] |= uint8(nearestInt(float32(iscale*mins[j]))) << 4
			}
			putHalf(y[82:], maxMin/q4scale)
		} else {
			putHalf(y[82:], 0)
		}
		d, dmin := half(y[80:]), half(y[82:])
		for j := 0; j < 16; j++ {
			dj := float32(d * float32(sc[j]&0xf))
			if dj == 0 {
				continue // keep the levels of the search
			}
			dm := float32(dmin * float32(sc[j]>>4))
			for ii := 0; ii < 16; ii++ {
				l := nearestInt((x[16*j+ii] + dm) / dj)
				L[16*j+ii] = uint8(clampInt(l, 0, 3))
			}
		}
		packQ2(y[16:80], L[:])
	}
}

// packQ2 stores 256 2-bit levels as Q2_K and Q3_K do: byte 32h+l holds
// elements 128h+l, +32, +64, +96 from the low bits up.
func packQ2(qs []byte, L []uint8) {
	for j := 0; j < qkK; j += 128 {
		for l := 0; l < 32; l++ {
			qs[j/4+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
		}
	}
}

func dequantizeQ2_K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qkK; b++ {
		y := dst[b*qkK : (b+1)*qkK]
		x := src[b*blockQ2_K : (b+1)*blockQ2_K]
		d, dmin := half(x[80:]), half(x[82:])
		sc := x[:16]
		qs := x[16:80]
		for i := range y {
			h, r := i/128, i%128
			shift := uint(r / 32 * 2)
			l := r % 32
			s := sc[i/16]
			dl := float32(d * float32(s&0xf))
			ml := float32(dmin * float32(s>>4))
			q := float32(qs[32*h+l] >> shift & 3)
			y[i] = float32(dl*q) - ml
		}
	}
}
