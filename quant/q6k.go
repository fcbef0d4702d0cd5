package quant

// Q6_K: 210 bytes per 256 elements. ql[128] @0 (low nibbles), qh[64] @128
// (high 2 bits), int8 scales[16] @192, half d @208. x = d·sc·(L−32).

const blockQ6_K = 210

func quantizeQ6_K(dst []byte, src []float32) {
	var (
		L      [qkK]uint8
		scales [16]float32
	)
	lb := new(laneBlock)
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		y := dst[b*blockQ6_K : (b+1)*blockQ6_K]
		if useLanes {
			// Sub-blocks 0-7 and 8-15 searched side by side.
			for half := 0; half < 2; half++ {
				for k := 0; k < lanes; k++ {
					for l := 0; l < 16; l++ {
						lb.x[l][k] = x[16*(8*half+k)+l]
					}
				}
				sc := makeQXQuants8(lb, 16, 32)
				for k := 0; k < lanes; k++ {
					ib := 8*half + k
					scales[ib] = sc[k]
					for l := 0; l < 16; l++ {
						L[16*ib+l] = uint8(lb.l[l][k])
					}
				}
			}
		} else {
			for ib := 0; ib < 16; ib++ {
				scales[ib] = makeQXQuants(32, x[16*ib:16*ib+16], L[16*ib:16*ib+16])
			}
		}
		var maxScale, maxAbsScale float32
		for ib := 0; ib < 16; ib++ {
			if a := absf(scales[ib]); a > maxAbsScale {
				maxAbsScale, maxScale = a, scales[ib]
			}
		}
		if maxAbsScale < groupMaxEps {
			clear(y)
			continue
		}
		iscale := -128 / maxScale
		putHalf(y[208:], 1/iscale)
		sc := y[192:208]
		for ib := 0; ib < 16; ib++ {
			sc[ib] = byte(int8(min(127, nearestInt(float32(iscale*scales[ib])))))
		}
		d := half(y[208:])
		for j := 0; j < 16; j++ {
			dj := float32(d * float32(int8(sc[j])))
			if dj == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				l := nearestInt(x[16*j+ii] / dj)
				L[16*j+ii] = uint8(clampInt(l, -32, 31) + 32)
			}
		}
		ql, qh := y[:128], y[128:192]
		for j := 0; j < qkK; j += 128 {
			for l := 0; l < 32; l++ {
				q1, q2, q3, q4 := L[j+l], L[j+l+32], L[j+l+64], L[j+l+96]
				ql[j/2+l] = q1&0xf | (q3&0xf)<<4
				ql[j/2+l+32] = q2&0xf | (q4&0xf)<<4
				qh[j/4+l] = q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6
			}
		}
	}
}

func dequantizeQ6_K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qkK; b++ {
		y := dst[b*qkK : (b+1)*qkK]
		x := src[b*blockQ6_K : (b+1)*blockQ6_K]
		d := half(x[208:])
		for n := 0; n < 2; n++ {
			ql, qh := x[64*n:64*n+64], x[128+32*n:128+32*n+32]
			sc := x[192+8*n : 192+8*n+8]
			yy := y[128*n : 128*n+128]
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
				q2 := int(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
				q3 := int(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				yy[l] = float32(d*float32(int8(sc[is]))) * float32(q1)
				yy[l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
				yy[l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
				yy[l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
			}
		}
	}
}
