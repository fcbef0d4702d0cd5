package quant

import "math"

// Q4_K (144 bytes) and Q5_K (176 bytes) per 256 elements: half d @0,
// half dmin @2, scales[12] @4 holding eight 6-bit (scale, min) pairs, then
// for Q5_K qh[32] @16 (bit 4 of the levels), and the low nibbles (@16 for
// Q4_K, @48 for Q5_K): byte 32c+l holds elements 64c+l and 64c+32+l.
// x = d·sc·L − dmin·m.

const (
	blockQ4_K = 144
	blockQ5_K = 176
)

// scaleMinK4 is get_scale_min_k4: the 6-bit scale and min of sub-block j.
func scaleMinK4(j int, q []byte) (uint8, uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// quantizeK45 holds what Q4_K and Q5_K share: the per-sub-block search,
// the 6-bit scale packing into y[4:16], d and dmin, and the requantization
// with the stored scales. It leaves the levels (0..nmax) in L.
func quantizeK45(y []byte, x []float32, L *[qkK]uint8, lb *laneBlock, nmax int, rmin float32, nstep int) {
	var (
		Laux    [32]uint8
		weights [32]float32
		scales  [8]float32
		mins    [8]float32
	)
	if useLanes {
		// The 8 sub-blocks searched side by side (ksearch_lanes.go).
		b := lb
		for j := 0; j < 8; j++ {
			xs := x[32*j : 32*j+32]
			var sumX2 float32
			for _, v := range xs {
				sumX2 += float32(v * v)
			}
			avX := float32(math.Sqrt(float64(sumX2 / 32)))
			for l, v := range xs {
				b.x[l][j] = v
				b.w[l][j] = avX + absf(v)
			}
		}
		sc, mn := makeQKX2Quants8(b, 32, nmax, rmin, 0.1, nstep, false)
		scales, mins = sc, mn
		for j := 0; j < 8; j++ {
			for l := 0; l < 32; l++ {
				L[32*j+l] = uint8(b.l[l][j])
			}
		}
	} else {
		for j := 0; j < 8; j++ {
			xs := x[32*j : 32*j+32]
			var sumX2 float32
			for _, v := range xs {
				sumX2 += float32(v * v)
			}
			avX := float32(math.Sqrt(float64(sumX2 / 32)))
			for l, v := range xs {
				weights[l] = avX + absf(v)
			}
			scales[j], mins[j] = makeQKX2Quants(nmax, xs, weights[:], L[32*j:32*j+32], Laux[:], rmin, 0.1, nstep, false)
		}
	}
	var maxScale, maxMin float32
	for j := 0; j < 8; j++ {
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	sc := y[4:16]
	for j := 0; j < 8; j++ {
		ls := min(63, uint8(nearestInt(float32(invScale*scales[j]))))
		lm := min(63, uint8(nearestInt(float32(invMin*mins[j]))))
		if j < 4 {
			sc[j] = ls
			sc[j+4] = lm
		} else {
			sc[j+4] = ls&0xf | (lm&0xf)<<4
			sc[j-4] |= (ls >> 4) << 6
			sc[j] |= (lm >> 4) << 6
		}
	}
	putHalf(y, maxScale/63)
	putHalf(y[2:], maxMin/63)
	d, dmin := half(y), half(y[2:])
	for j := 0; j < 8; j++ {
		s, m := scaleMinK4(j, sc)
		dj := float32(d * float32(s))
		if dj == 0 {
			continue
		}
		dm := float32(dmin * float32(m))
		for ii := 0; ii < 32; ii++ {
			l := nearestInt((x[32*j+ii] + dm) / dj)
			L[32*j+ii] = uint8(clampInt(l, 0, nmax))
		}
	}
}

func quantizeQ4_K(dst []byte, src []float32) {
	var L [qkK]uint8
	lb := new(laneBlock)
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		y := dst[b*blockQ4_K : (b+1)*blockQ4_K]
		clear(y[4:16])
		quantizeK45(y, x, &L, lb, 15, -1, 20)
		q := y[16:]
		for j := 0; j < qkK; j += 64 {
			for l := 0; l < 32; l++ {
				q[j/2+l] = L[j+l] | L[j+l+32]<<4
			}
		}
	}
}

func quantizeQ5_K(dst []byte, src []float32) {
	var L [qkK]uint8
	lb := new(laneBlock)
	for b := 0; b < len(src)/qkK; b++ {
		x := src[b*qkK : (b+1)*qkK]
		y := dst[b*blockQ5_K : (b+1)*blockQ5_K]
		clear(y[4:16])
		quantizeK45(y, x, &L, lb, 31, -0.5, 15)
		qh, ql := y[16:48], y[48:]
		clear(qh)
		var m1, m2 uint8 = 1, 2
		for n := 0; n < qkK; n += 64 {
			for j := 0; j < 32; j++ {
				l1, l2 := L[n+j], L[n+j+32]
				if l1 > 15 {
					l1 -= 16
					qh[j] |= m1
				}
				if l2 > 15 {
					l2 -= 16
					qh[j] |= m2
				}
				ql[n/2+j] = l1 | l2<<4
			}
			m1 <<= 2
			m2 <<= 2
		}
	}
}

func dequantizeQ4_K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qkK; b++ {
		y := dst[b*qkK : (b+1)*qkK]
		x := src[b*blockQ4_K : (b+1)*blockQ4_K]
		d, dmin := half(x), half(x[2:])
		sc, q := x[4:16], x[16:]
		for c := 0; c < 4; c++ {
			s1, m1 := scaleMinK4(2*c, sc)
			s2, m2 := scaleMinK4(2*c+1, sc)
			d1, dm1 := float32(d*float32(s1)), float32(dmin*float32(m1))
			d2, dm2 := float32(d*float32(s2)), float32(dmin*float32(m2))
			for l := 0; l < 32; l++ {
				y[64*c+l] = float32(d1*float32(q[32*c+l]&0xf)) - dm1
				y[64*c+32+l] = float32(d2*float32(q[32*c+l]>>4)) - dm2
			}
		}
	}
}

func dequantizeQ5_K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qkK; b++ {
		y := dst[b*qkK : (b+1)*qkK]
		x := src[b*blockQ5_K : (b+1)*blockQ5_K]
		d, dmin := half(x), half(x[2:])
		sc, qh, ql := x[4:16], x[16:48], x[48:]
		for c := 0; c < 4; c++ {
			s1, m1 := scaleMinK4(2*c, sc)
			s2, m2 := scaleMinK4(2*c+1, sc)
			d1, dm1 := float32(d*float32(s1)), float32(dmin*float32(m1))
			d2, dm2 := float32(d*float32(s2)), float32(dmin*float32(m2))
			for l := 0; l < 32; l++ {
				q1 := ql[32*c+l]&0xf | (qh[l]>>(2*c)&1)<<4
				q2 := ql[32*c+l]>>4 | (qh[l]>>(2*c+1)&1)<<4
				y[64*c+l] = float32(d1*float32(q1)) - dm1
				y[64*c+32+l] = float32(d2*float32(q2)) - dm2
			}
		}
	}
}
