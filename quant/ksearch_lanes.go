package quant

// make_qkx2_quants for eight sub-blocks at once. The K-quants search each
// sub-block independently, so the sub-blocks of a super-block become the
// eight lanes of a vector: every lane performs exactly the float32
// operations of makeQKX2Quants, in the same order, so the bytes are the
// same. The two inner loops (qkx2Sums, qkx2Err) have an AVX2 version on
// amd64 and the Go version below elsewhere; the per-pass decisions are
// scalar Go over the lanes.

const lanes = 8

// laneBlock holds up to 32 elements of 8 sub-blocks, element-major:
// x[i][k] is element i of sub-block k.
type laneBlock struct {
	x, w, xm [32][lanes]float32
	l, la    [32][lanes]int32
}

// qkx2SumsGo: for each lane, la[i] = clamp(nearest_int(isc·xm[i]), 0,
// nmax) and the sums Σ w·l, Σ (w·l)·l, Σ (w·l)·x over i < n.
func qkx2SumsGo(isc *[lanes]float32, b *laneBlock, la *[32][lanes]int32, n int, nmax int32, out *[3][lanes]float32) {
	for k := 0; k < lanes; k++ {
		var sumL, sumL2, sumXL float32
		for i := 0; i < n; i++ {
			l := int32(clampInt(nearestInt(float32(isc[k]*b.xm[i][k])), 0, int(nmax)))
			la[i][k] = l
			fl := float32(l)
			wl := float32(b.w[i][k] * fl)
			sumL += wl
			sumL2 += float32(wl * fl)
			sumXL += float32(wl * b.x[i][k])
		}
		out[0][k], out[1][k], out[2][k] = sumL, sumL2, sumXL
	}
}

// qkx2ErrGo: for each lane, Σ w·e with diff = (ts·l + tm) − x and
// e = |diff| (mad) or diff².
func qkx2ErrGo(ts, tm *[lanes]float32, b *laneBlock, la *[32][lanes]int32, n int, mad bool, out *[lanes]float32) {
	for k := 0; k < lanes; k++ {
		var cur float32
		for i := 0; i < n; i++ {
			diff := float32(float32(ts[k]*float32(la[i][k]))+tm[k]) - b.x[i][k]
			if mad {
				diff = absf(diff)
			} else {
				diff = float32(diff * diff)
			}
			cur += float32(b.w[i][k] * diff)
		}
		out[k] = cur
	}
}

// makeQKX2Quants8 is makeQKX2Quants on the n elements of each of the 8
// lanes of b (x and w filled in); the levels are left in b.l.
func makeQKX2Quants8(b *laneBlock, n, nmax int, rmin, rdelta float32, nstep int, mad bool) (scale, negMin [lanes]float32) {
	var min, max, sumW, sumX, iscale, best [lanes]float32
	var degenerate [lanes]bool
	fnmax := float32(nmax)
	for k := 0; k < lanes; k++ {
		mn, mx := b.x[0][k], b.x[0][k]
		sw := b.w[0][k]
		sx := float32(sw * b.x[0][k])
		for i := 1; i < n; i++ {
			v := b.x[i][k]
			if v < mn {
				mn = v
			}
			if v > mx {
				mx = v
			}
			sw += b.w[i][k]
			sx += float32(b.w[i][k] * v)
		}
		if mn > 0 {
			mn = 0
		}
		min[k], max[k], sumW[k], sumX[k] = mn, mx, sw, sx
		degenerate[k] = mx == mn
		iscale[k] = fnmax / (mx - mn)
		scale[k] = 1 / iscale[k]
		for i := 0; i < n; i++ {
			b.xm[i][k] = b.x[i][k] - mn
		}
	}
	min0 := min
	var sums [3][lanes]float32
	qkx2Sums(&iscale, b, &b.l, n, int32(nmax), &sums)
	qkx2Err(&scale, &min, b, &b.l, n, mad, &best)
	if nstep >= 1 {
		var isc, ts, tm, cur [lanes]float32
		var ok [lanes]bool
		for is := 0; is <= nstep; is++ {
			num := float32(rmin+float32(rdelta*float32(is))) + fnmax
			for k := 0; k < lanes; k++ {
				isc[k] = num / (max[k] - min[k])
			}
			qkx2Sums(&isc, b, &b.la, n, int32(nmax), &sums)
			for k := 0; k < lanes; k++ {
				sumL, sumL2, sumXL := sums[0][k], sums[1][k], sums[2][k]
				D := float32(sumW[k]*sumL2) - float32(sumL*sumL)
				ok[k] = D > 0
				ts[k] = (float32(sumW[k]*sumXL) - float32(sumX[k]*sumL)) / D
				tm[k] = (float32(sumL2*sumX[k]) - float32(sumL*sumXL)) / D
				if tm[k] > 0 {
					tm[k] = 0
					ts[k] = sumXL / sumL2
				}
			}
			qkx2Err(&ts, &tm, b, &b.la, n, mad, &cur)
			for k := 0; k < lanes; k++ {
				if ok[k] && cur[k] < best[k] {
					best[k], scale[k], min[k] = cur[k], ts[k], tm[k]
					for i := 0; i < n; i++ {
						b.l[i][k] = b.la[i][k]
						b.xm[i][k] = b.x[i][k] - min[k]
					}
				}
			}
		}
	}
	for k := 0; k < lanes; k++ {
		negMin[k] = -min[k]
		if degenerate[k] {
			scale[k], negMin[k] = 0, -min0[k]
			for i := 0; i < n; i++ {
				b.l[i][k] = 0
			}
		}
	}
	return scale, negMin
}

// qxSumsGo: for each lane, la[i] = clamp(nearest_int(isc·x[i]), -nmax,
// nmax-1) and the sums Σ (w·x)·l and Σ (w·l)·l over i < n, with w = x²
// (b.w) and w·x (b.xm, reused for it) precomputed.
func qxSumsGo(isc *[lanes]float32, b *laneBlock, la *[32][lanes]int32, n int, nmax int32, out *[3][lanes]float32) {
	for k := 0; k < lanes; k++ {
		var sumlx, suml2 float32
		for i := 0; i < n; i++ {
			l := int32(clampInt(nearestInt(float32(isc[k]*b.x[i][k])), -int(nmax), int(nmax)-1))
			la[i][k] = l
			fl := float32(l)
			sumlx += float32(b.xm[i][k] * fl)
			suml2 += float32(float32(b.w[i][k]*fl) * fl)
		}
		out[0][k], out[1][k] = sumlx, suml2
	}
}

// makeQXQuants8 is makeQXQuants (rmse_type 1, no weights) on the n
// elements of each lane of b (x filled in); levels + nmax are left in b.l.
func makeQXQuants8(b *laneBlock, n, nmax int) (scale [lanes]float32) {
	var max, iscale, best [lanes]float32
	var zero [lanes]bool
	fnmax := float32(nmax)
	for k := 0; k < lanes; k++ {
		var amax float32
		for i := 0; i < n; i++ {
			v := b.x[i][k]
			if a := absf(v); a > amax {
				amax, max[k] = a, v
			}
			w := float32(v * v)
			b.w[i][k] = w
			b.xm[i][k] = float32(w * v)
		}
		zero[k] = amax < groupMaxEps
		iscale[k] = -fnmax / max[k]
	}
	var sums [3][lanes]float32
	qxSums(&iscale, b, &b.l, n, int32(nmax), &sums)
	for k := 0; k < lanes; k++ {
		sumlx, suml2 := sums[0][k], sums[1][k]
		if suml2 != 0 {
			scale[k] = sumlx / suml2
		}
		best[k] = float32(scale[k] * sumlx)
	}
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		num := -(fnmax + float32(0.1*float32(is)))
		for k := 0; k < lanes; k++ {
			iscale[k] = num / max[k]
		}
		qxSums(&iscale, b, &b.la, n, int32(nmax), &sums)
		for k := 0; k < lanes; k++ {
			sumlx, suml2 := sums[0][k], sums[1][k]
			if suml2 > 0 && float32(sumlx*sumlx) > float32(best[k]*suml2) {
				for i := 0; i < n; i++ {
					b.l[i][k] = b.la[i][k]
				}
				scale[k] = sumlx / suml2
				best[k] = float32(scale[k] * sumlx)
			}
		}
	}
	for k := 0; k < lanes; k++ {
		if zero[k] {
			scale[k] = 0
			for i := 0; i < n; i++ {
				b.l[i][k] = 0
			}
			continue
		}
		for i := 0; i < n; i++ {
			b.l[i][k] += int32(nmax)
		}
	}
	return scale
}
