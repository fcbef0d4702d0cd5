package quant

// Q3_K: 110 bytes per 256 elements. hmask[32] @0 (bit 2 of each level),
// qs[64] @32 (low 2 bits, packed as Q2_K), scales[12] @96 (16 six-bit
// scales stored +32), half d @108. x = d·s·(L−4).

const blockQ3_K = 110

// q3Scale decodes the 6-bit scale of sub-block j (still +32).
func q3Scale(s []byte, j int) int {
	var lo byte
	if j < 8 {
		lo = s[j] & 0xf
	} else {
		lo = s[j-8] >> 4
	}
	return int(lo | (s[8+j%4]>>(2*(j/4))&3)<<4)
}

func quantizeQ3_K(dst []byte, src []float32) {
	var (
		L      [qkK]int8
		scales [16]float32
	)
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		y := dst[b*blockQ3_K : (b+1)*blockQ3_K]
		var maxScale, amax float32
		for j := 0; j < 16; j++ {
			scales[j] = makeQ3Quants(4, x[16*j:16*j+16], L[16*j:16*j+16])
			if a := absf(scales[j]); a > amax {
				amax, maxScale = a, scales[j]
			}
		}
		sc := y[96:108]
		clear(sc)
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := 0; j < 16; j++ {
				l := int(int8(nearestInt(float32(iscale * scales[j]))))
				l = clampInt(l, -32, 31) + 32
				if j < 8 {
					sc[j] = byte(l & 0xf)
				} else {
					sc[j-8] |= byte(l&0xf) << 4
				}
				sc[8+j%4] |= byte(l>>4) << (2 * (j / 4))
			}
			putHalf(y[108:], 1/iscale)
		} else {
			putHalf(y[108:], 0)
		}
		d := half(y[108:])
		for j := 0; j < 16; j++ {
			dj := float32(d * float32(q3Scale(sc, j)-32))
			if dj == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				l := nearestInt(x[16*j+ii] / dj)
				L[16*j+ii] = int8(clampInt(l, -4, 3) + 4)
			}
		}
		hmask := y[:32]
		clear(hmask)
		var lv [qkK]uint8
		for j := 0; j < qkK; j++ {
			l := uint8(L[j])
			if l > 3 {
				hmask[j%32] |= 1 << (j / 32)
				l -= 4
			}
			lv[j] = l
		}
		packQ2(y[32:96], lv[:])
	}
}

func dequantizeQ3_K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qkK; b++ {
		y := dst[b*qkK : (b+1)*qkK]
		x := src[b*blockQ3_K : (b+1)*blockQ3_K]
		d := half(x[108:])
		hmask, qs, sc := x[:32], x[32:96], x[96:108]
		var dl [16]float32
		for j := range dl {
			dl[j] = float32(d * float32(q3Scale(sc, j)-32))
		}
		for i := range y {
			h, r := i/128, i%128
			l := r % 32
			q := int(qs[32*h+l] >> uint(r/32*2) & 3)
			if hmask[i%32]>>(i/32)&1 == 0 {
				q -= 4
			}
			y[i] = dl[i/16] * float32(q)
		}
	}
}
