package cputwin

import "math"

// AttentionParams describes the operands of attention_f16. Strides are in
// elements. Query t is at position Pos0+t; keys 0..Pos0+t are in the cache,
// position j in row j % Cells (Cells ≤ 0: row j, a cache that never wraps).
type AttentionParams struct {
	QTokStride, QHeadStride int
	KPosStride, KHeadStride int
	VPosStride, VHeadStride int
	OTokStride, OHeadStride int
	NTok, NHead, NHeadKV    int
	DK, DV                  int
	Pos0                    int
	Window                  int // 0: full causal
	Cells                   int // rows of the ring cache (≤ 0: Pos0+NTok, no wrap)
	Scale                   float32
}

// CacheRows is the number of cache rows the attention reads: Cells, or
// Pos0+NTok for a cache that never wraps.
func (p AttentionParams) CacheRows() int {
	if p.Cells > 0 {
		return p.Cells
	}
	return p.Pos0 + p.NTok
}

// Attention is the twin of attention_f16 (sinks nil: none) with the
// cache's K and V rows already decoded to float32 (k and v hold
// CacheRows() rows). It accumulates in float64.
func Attention(p AttentionParams, q, k, v, sinks []float32) []float32 {
	out := make([]float32, p.NTok*p.OTokStride)
	group := p.NHead / p.NHeadKV
	cells := p.CacheRows()
	for t := 0; t < p.NTok; t++ {
		pos := p.Pos0 + t
		lo := 0
		if p.Window > 0 && pos-p.Window+1 > 0 {
			lo = pos - p.Window + 1
		}
		for h := 0; h < p.NHead; h++ {
			kvh := h / group
			qr := q[t*p.QTokStride+h*p.QHeadStride:]
			scores := make([]float64, pos-lo+1)
			m := math.Inf(-1)
			if sinks != nil {
				m = float64(sinks[h])
			}
			for j := lo; j <= pos; j++ {
				kr := k[(j%cells)*p.KPosStride+kvh*p.KHeadStride:]
				var d float64
				for i := 0; i < p.DK; i++ {
					d += float64(qr[i]) * float64(kr[i])
				}
				s := d * float64(p.Scale)
				scores[j-lo] = s
				m = math.Max(m, s)
			}
			var den float64
			if sinks != nil {
				den = math.Exp(float64(sinks[h]) - m)
			}
			for i := range scores {
				scores[i] = math.Exp(scores[i] - m)
				den += scores[i]
			}
			o := out[t*p.OTokStride+h*p.OHeadStride:]
			for dd := 0; dd < p.DV; dd++ {
				var a float64
				for j := lo; j <= pos; j++ {
					a += scores[j-lo] * float64(v[(j%cells)*p.VPosStride+kvh*p.VHeadStride+dd])
				}
				o[dd] = float32(a / den)
			}
		}
	}
	return out
}

// KVStore is the twin of kv_store_f16: row t of src (nTok rows of width
// floats, srcStride apart) is rounded to half and written to row
// (pos0+t) % cells of dst (dstStride halves apart).
func KVStore(src []float32, srcStride int, dst []uint16, dstStride, width, nTok, pos0, cells int) {
	for t := 0; t < nTok; t++ {
		row := (pos0 + t) % cells
		for i := 0; i < width; i++ {
			dst[row*dstStride+i] = Float32ToHalf(src[t*srcStride+i])
		}
	}
}

// Float32ToHalf encodes f as IEEE binary16, rounding to nearest even (as
// CUDA's __float2half_rn): overflow gives ±Inf, NaN stays NaN, values
// below the smallest subnormal round to ±0.
func Float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff { // Inf or NaN (keep a quiet NaN)
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal half (or zero): shift the full significand, then round.
		if e < -10 {
			return sign
		}
		m := man | 0x800000
		shift := uint(14 - e) // 24-bit significand → 10-bit subnormal field
		h := m >> shift
		rem := m & (1<<shift - 1)
		halfway := uint32(1) << (shift - 1)
		if rem > halfway || rem == halfway && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // may carry into the exponent: rounds up to the next binade or Inf
	}
	return sign | uint16(h)
}
