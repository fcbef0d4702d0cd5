package kernels

import "math"

// RopeStyle says which elements of a head form a rotating pair.
type RopeStyle int

const (
	// RopeNeox rotates (x[i], x[i+n/2]) — transformers' rotate_half.
	RopeNeox RopeStyle = iota
	// RopeNorm rotates adjacent pairs (x[2i], x[2i+1]) — GPT-J / complex form.
	RopeNorm
)

// Rope holds the per-pair inverse frequencies of a rotary embedding and the
// scale applied to cos and sin (YaRN/LongRoPE "attention factor").
type Rope struct {
	Style   RopeStyle
	InvFreq []float32 // n_rot/2 values
	Scale   float32
}

// RopeInvFreq returns base^(−2i/d) for i < d/2, computed as transformers does:
// in float64 then rounded to float32.
func RopeInvFreq(base float64, d int) []float32 {
	f := make([]float32, d/2)
	for i := range f {
		f[i] = float32(1 / math.Pow(base, float64(2*i)/float64(d)))
	}
	return f
}

// LongRopeInvFreq returns 1/(factor[i]·base^(2i/d)) (Phi-3 LongRoPE).
func LongRopeInvFreq(base float64, d int, factors []float32) []float32 {
	f := make([]float32, d/2)
	for i := range f {
		f[i] = float32(1 / (float64(factors[i]) * math.Pow(base, float64(2*i)/float64(d))))
	}
	return f
}

// YarnParams are the YaRN settings of a model.
type YarnParams struct {
	Base     float64
	Dim      int     // rotated dimensions
	Factor   float64 // s
	OrigCtx  float64 // L
	BetaFast float64
	BetaSlow float64
	Truncate bool // floor/ceil the correction range (transformers default; gpt-oss sets false)
}

// YarnInvFreq returns YaRN's blended inverse frequencies (architectures.md §0.3).
func YarnInvFreq(p YarnParams) []float32 {
	d := float64(p.Dim)
	corr := func(r float64) float64 {
		return d * math.Log(p.OrigCtx/(2*math.Pi*r)) / (2 * math.Log(p.Base))
	}
	low, high := corr(p.BetaFast), corr(p.BetaSlow)
	if p.Truncate {
		low, high = math.Floor(low), math.Ceil(high)
	}
	low = math.Max(low, 0)
	high = math.Min(high, d-1)
	if low == high {
		high += 0.001
	}
	f := make([]float32, p.Dim/2)
	for i := range f {
		// transformers computes these in float32 tensors.
		pos := float32(math.Pow(p.Base, float64(2*i)/d))
		extrap := 1 / pos
		interp := 1 / (float32(p.Factor) * pos)
		ramp := float32((float64(i) - low) / (high - low))
		ramp = min(max(ramp, 0), 1)
		mask := 1 - ramp
		f[i] = interp*(1-mask) + extrap*mask
	}
	return f
}

// YarnMscale is get_mscale(s, m) = 0.1·m·ln s + 1 for s > 1, else 1.
func YarnMscale(s, m float64) float64 {
	if s <= 1 {
		return 1
	}
	return 0.1*m*math.Log(s) + 1
}

// Apply rotates the first len(InvFreq)·2 dims of each of nHeads heads of
// width headDim in x (laid out head after head) for position pos.
func (r *Rope) Apply(x []float32, nHeads, headDim, pos int) {
	r.ApplyOffset(x, nHeads, headDim, 0, pos)
}

// ApplyOffset is Apply on the dims starting at off inside each head (MLA
// rotates only the last qk_rope dims of a query head).
func (r *Rope) ApplyOffset(x []float32, nHeads, headDim, off, pos int) {
	half := len(r.InvFreq)
	var cs [512]float32
	cosv, sinv := cs[:half], cs[256:256+half]
	if half > 256 {
		cosv, sinv = make([]float32, half), make([]float32, half)
	}
	for i, f := range r.InvFreq {
		// transformers: freqs = pos·inv_freq in float32, then cos/sin (float32), times the scale.
		a := float32(pos) * f
		cosv[i] = float32(math.Cos(float64(a))) * r.Scale
		sinv[i] = float32(math.Sin(float64(a))) * r.Scale
	}
	for h := 0; h < nHeads; h++ {
		v := x[h*headDim+off:]
		for i := 0; i < half; i++ {
			var a, b int
			if r.Style == RopeNeox {
				a, b = i, i+half
			} else {
				a, b = 2*i, 2*i+1
			}
			xa, xb := v[a], v[b]
			v[a] = xa*cosv[i] - xb*sinv[i]
			v[b] = xa*sinv[i] + xb*cosv[i]
		}
	}
}
