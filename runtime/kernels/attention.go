package kernels

import (
	"math"
)

// Attention describes one multi-head attention over a key/value history.
// Keys and values are stored position after position: key j of kv head g
// starts at K[j·KStride + g·HeadDimK], value j at V[j·VStride + g·HeadDimV].
type Attention struct {
	NHead, NHeadKV     int
	HeadDimK, HeadDimV int
	Scale              float32   // multiplies q·k
	Sinks              []float32 // per-head sink logit (gpt-oss), nil if none; not scaled
	Window             int       // sliding window (key visible if pos−j < Window); 0 = none
	K, V               []float32
	KStride, VStride   int
}

// Run computes the attention output of n queries at positions pos0..pos0+n−1
// (causal: query t sees keys j ≤ pos0+t). q holds n rows of NHead·HeadDimK,
// out n rows of NHead·HeadDimV. Heads and queries run in parallel.
func (a *Attention) Run(out, q []float32, n, pos0 int) {
	qRow, oRow := a.NHead*a.HeadDimK, a.NHead*a.HeadDimV
	group := a.NHead / a.NHeadKV
	total := n * a.NHead
	parallelFor(total, max(1, 4096/(pos0+n)), func(lo, hi int) {
		scores := make([]float32, pos0+n)
		for w := lo; w < hi; w++ {
			t, h := w/a.NHead, w%a.NHead
			pos := pos0 + t
			g := h / group
			qh := q[t*qRow+h*a.HeadDimK : t*qRow+(h+1)*a.HeadDimK]
			first := 0
			if a.Window > 0 {
				first = max(0, pos-a.Window+1)
			}
			m := float32(math.Inf(-1))
			if a.Sinks != nil {
				m = a.Sinks[h]
			}
			sc := scores[first : pos+1]
			for j := first; j <= pos; j++ {
				k := a.K[j*a.KStride+g*a.HeadDimK : j*a.KStride+(g+1)*a.HeadDimK]
				s := dotF32(qh, k) * a.Scale
				sc[j-first] = s
				m = max(m, s)
			}
			var sum float64
			for i, s := range sc {
				e := math.Exp(float64(s - m))
				sc[i] = float32(e)
				sum += e
			}
			if a.Sinks != nil {
				sum += math.Exp(float64(a.Sinks[h] - m))
			}
			inv := float32(1 / sum)
			o := out[t*oRow+h*a.HeadDimV : t*oRow+(h+1)*a.HeadDimV]
			clear(o)
			for j := first; j <= pos; j++ {
				v := a.V[j*a.VStride+g*a.HeadDimV : j*a.VStride+(g+1)*a.HeadDimV]
				AddScaled(o, v, sc[j-first]*inv)
			}
		}
	})
}
