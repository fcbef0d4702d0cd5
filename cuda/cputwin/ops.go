package cputwin

import (
	"fmt"
	"math"
)

// GetRows gathers rows ids of a table of type t (rowBytes apart), n columns
// each, decoded to float32: the twin of get_rows_<type>.
func GetRows(t WeightType, table []byte, rowBytes int64, ids []int32, n int) ([]float32, error) {
	out := make([]float32, len(ids)*n)
	for r, id := range ids {
		off := int64(id) * rowBytes
		if id < 0 || off+rowBytes > int64(len(table)) {
			return nil, fmt.Errorf("row id %d out of range", id)
		}
		if err := Dequant(t, table[off:off+rowBytes], out[r*n:(r+1)*n]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RMSNorm normalizes each row of n values: x / sqrt(mean(x²) + eps) · w
// (w nil: 1). The sum of squares is taken in float64, as ggml does.
func RMSNorm(x []float32, w []float32, n int, eps float32) []float32 {
	y := make([]float32, len(x))
	for r := 0; r < len(x)/n; r++ {
		row := x[r*n : (r+1)*n]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		inv := float32(1 / math.Sqrt(ss/float64(n)+float64(eps)))
		for i, v := range row {
			g := float32(1)
			if w != nil {
				g = w[i]
			}
			y[r*n+i] = v * inv * g
		}
	}
	return y
}

// LayerNorm: (x − mean) / sqrt(var + eps) · w + b per row, var biased.
func LayerNorm(x, w, b []float32, n int, eps float32) []float32 {
	y := make([]float32, len(x))
	for r := 0; r < len(x)/n; r++ {
		row := x[r*n : (r+1)*n]
		var s float64
		for _, v := range row {
			s += float64(v)
		}
		mean := s / float64(n)
		var vs float64
		for _, v := range row {
			d := float64(v) - mean
			vs += d * d
		}
		inv := 1 / math.Sqrt(vs/float64(n)+float64(eps))
		for i, v := range row {
			o := (float64(v) - mean) * inv
			if w != nil {
				o *= float64(w[i])
			}
			if b != nil {
				o += float64(b[i])
			}
			y[r*n+i] = float32(o)
		}
	}
	return y
}

// RopeParams describes where the rotated dims are in a [tok][head][dim]
// activation and how they rotate.
type RopeParams struct {
	TokStride, HeadStride int // floats between tokens, between heads
	NHead, NTok           int
	RotOff, NRot          int     // first rotated dim within a head, number of rotated dims
	MScale                float32 // multiplies cos and sin
	NeoX                  bool    // pairs (i, i+n/2); else (2i, 2i+1)
}

// Rope rotates x in place at positions pos with frequencies invFreq
// (NRot/2 values): the twin of rope_f32.
func Rope(x []float32, p RopeParams, pos []int32, invFreq []float32) {
	half := p.NRot / 2
	for t := 0; t < p.NTok; t++ {
		for h := 0; h < p.NHead; h++ {
			v := x[t*p.TokStride+h*p.HeadStride+p.RotOff:]
			for i := 0; i < half; i++ {
				theta := float64(float32(pos[t]) * invFreq[i])
				c := float32(math.Cos(theta)) * p.MScale
				s := float32(math.Sin(theta)) * p.MScale
				ia, ib := 2*i, 2*i+1
				if p.NeoX {
					ia, ib = i, i+half
				}
				a, b := v[ia], v[ib]
				v[ia] = a*c - b*s
				v[ib] = a*s + b*c
			}
		}
	}
}

// RopeFreqs is the unscaled table: base^(−2i/d), i < d/2.
func RopeFreqs(nRot int, base float64) []float32 {
	f := make([]float32, nRot/2)
	for i := range f {
		f[i] = float32(math.Pow(base, -2*float64(i)/float64(nRot)))
	}
	return f
}

// LongRoPEFreqs divides the base frequencies by per-dimension factors
// (phimoe's rope_factors_short/long).
func LongRoPEFreqs(nRot int, base float64, factors []float32) []float32 {
	f := make([]float32, nRot/2)
	for i := range f {
		f[i] = float32(1 / (float64(factors[i]) * math.Pow(base, 2*float64(i)/float64(nRot))))
	}
	return f
}

// YaRNFreqs interpolates between the original frequencies (dims below the
// low correction dim) and frequencies divided by factor (above the high
// one). truncate floors/ceils the correction dims (ggml always does;
// transformers unless the config says truncate=false, as gpt-oss does).
func YaRNFreqs(nRot int, base, factor float64, origCtx int, betaFast, betaSlow float64, truncate bool) []float32 {
	d := float64(nRot)
	corr := func(r float64) float64 {
		return d * math.Log(float64(origCtx)/(2*math.Pi*r)) / (2 * math.Log(base))
	}
	low, high := corr(betaFast), corr(betaSlow)
	if truncate {
		low, high = math.Floor(low), math.Ceil(high)
	}
	low = math.Max(low, 0)
	high = math.Min(high, d-1)
	if high == low {
		high += 0.001
	}
	f := make([]float32, nRot/2)
	for i := range f {
		ramp := math.Min(math.Max((float64(i)-low)/(high-low), 0), 1)
		f[i] = float32(math.Pow(base, -2*float64(i)/d) * (ramp/factor + 1 - ramp))
	}
	return f
}

// MatMul computes y[t][o] = Σ_i W[o][i]·x[t][i] + bias[o] with W of type
// t (nOut rows of rowBytes), in float64: the twin of matmul_<type>.
func MatMul(t WeightType, w []byte, x []float32, bias []float32, nIn, nOut int) ([]float32, error) {
	rb, err := RowBytes(t, nIn)
	if err != nil {
		return nil, err
	}
	nTok := len(x) / nIn
	y := make([]float32, nTok*nOut)
	row := make([]float32, nIn)
	for o := 0; o < nOut; o++ {
		if err := Dequant(t, w[int64(o)*rb:], row); err != nil {
			return nil, err
		}
		for tk := 0; tk < nTok; tk++ {
			xr := x[tk*nIn : (tk+1)*nIn]
			var s float64
			for i, wv := range row {
				s += float64(wv) * float64(xr[i])
			}
			if bias != nil {
				s += float64(bias[o])
			}
			y[tk*nOut+o] = float32(s)
		}
	}
	return y, nil
}

// MatMulID is the twin of matmul_id_<type>: pair p multiplies expert
// ids[p] (expertBytes apart in w) with input row p/xDiv; biases (nil: none)
// are nOut per expert.
func MatMulID(t WeightType, w []byte, expertBytes int64, ids []int32, x []float32, xDiv int, bias []float32, nIn, nOut int) ([]float32, error) {
	y := make([]float32, len(ids)*nOut)
	for p, e := range ids {
		xr := x[(p/xDiv)*nIn : (p/xDiv+1)*nIn]
		var b []float32
		if bias != nil {
			b = bias[int(e)*nOut : (int(e)+1)*nOut]
		}
		yp, err := MatMul(t, w[int64(e)*expertBytes:], xr, b, nIn, nOut)
		if err != nil {
			return nil, err
		}
		copy(y[p*nOut:], yp)
	}
	return y, nil
}

// RouterMode selects the gating rule of router_f32.
type RouterMode int32

// Gating rules.
const (
	SoftmaxTopK RouterMode = 0 // softmax over all, top-k, weights = probabilities (deepseek)
	TopKSoftmax RouterMode = 1 // top-k of logits, softmax over the k (gpt-oss)
	SparseMixer RouterMode = 2 // phimoe's top-2 sparsemixer
	SigmoidTopK RouterMode = 3 // sigmoid, top-k, weights = sigmoid values
)

// RouterParams configures routing.
type RouterParams struct {
	NExp, K int
	Mode    RouterMode
	Norm    bool    // renormalize the k weights (modes 0 and 3)
	Scale   float32 // multiplies the weights
	Eps     float32 // sparsemixer ε (0.01 for Phi-3.5-MoE)
}

// Router is the twin of router_f32: k expert ids and weights per token of
// logits (NExp per token). Ties go to the lower index.
func Router(logits []float32, p RouterParams) ([]int32, []float32) {
	nTok := len(logits) / p.NExp
	ids := make([]int32, nTok*p.K)
	ws := make([]float32, nTok*p.K)
	for t := 0; t < nTok; t++ {
		z := logits[t*p.NExp : (t+1)*p.NExp]
		taken := make([]bool, p.NExp)
		pick := func() int {
			best := -1
			for j, v := range z {
				if !taken[j] && (best < 0 || v > z[best]) {
					best = j
				}
			}
			taken[best] = true
			return best
		}
		id, w := ids[t*p.K:(t+1)*p.K], ws[t*p.K:(t+1)*p.K]
		switch p.Mode {
		case SparseMixer:
			eps := 2 * float64(p.Eps)
			weight := func(e int, skip int) float32 {
				m := float64(z[e])
				var den float64
				for j, v := range z {
					if j == skip {
						continue
					}
					if !((m-float64(v))/math.Max(math.Abs(float64(v)), m) > eps) {
						den += math.Exp(float64(v) - m)
					}
				}
				return float32(1/den) * p.Scale
			}
			e1 := pick()
			id[0], w[0] = int32(e1), weight(e1, -1)
			e2 := pick()
			id[1], w[1] = int32(e2), weight(e2, e1)
		case TopKSoftmax:
			m := math.Inf(-1)
			for s := range id {
				e := pick()
				id[s] = int32(e)
				m = math.Max(m, float64(z[e]))
			}
			var den float64
			for _, e := range id {
				den += math.Exp(float64(z[e]) - m)
			}
			for s, e := range id {
				w[s] = float32(math.Exp(float64(z[e])-m)/den) * p.Scale
			}
		default:
			m := math.Inf(-1)
			for _, v := range z {
				m = math.Max(m, float64(v))
			}
			var den float64
			for _, v := range z {
				den += math.Exp(float64(v) - m)
			}
			var sum float64
			for s := range id {
				e := pick()
				id[s] = int32(e)
				var pr float64
				if p.Mode == SoftmaxTopK {
					pr = math.Exp(float64(z[e])-m) / den
				} else {
					pr = 1 / (1 + math.Exp(-float64(z[e])))
				}
				w[s] = float32(pr)
				sum += pr
			}
			for s := range w {
				v := float64(w[s])
				if p.Norm {
					v /= sum
				}
				w[s] = float32(v) * p.Scale
			}
		}
	}
	return ids, ws
}

// GLUMode selects the gated activation of swiglu_f32.
type GLUMode int32

// Gated activations.
const (
	SwiGLU    GLUMode = 0 // silu(g)·u
	SwiGLUOAI GLUMode = 1 // gpt-oss: clamp, g·σ(αg)·(u+1)
)

// GLU is the twin of swiglu_f32 on equally shaped g and u.
func GLU(g, u []float32, mode GLUMode, alpha, limit float32) []float32 {
	y := make([]float32, len(g))
	for i := range g {
		gv, uv := float64(g[i]), float64(u[i])
		if mode == SwiGLUOAI {
			gv = math.Min(gv, float64(limit))
			uv = math.Min(math.Max(uv, -float64(limit)), float64(limit))
			y[i] = float32(gv / (1 + math.Exp(-float64(alpha)*gv)) * (uv + 1))
		} else {
			y[i] = float32(gv / (1 + math.Exp(-gv)) * uv)
		}
	}
	return y
}

// Add returns a + b with b repeated every len(b) elements (a bias).
func Add(a, b []float32) []float32 {
	y := make([]float32, len(a))
	for i := range a {
		y[i] = a[i] + b[i%len(b)]
	}
	return y
}

// Scale returns a·s.
func Scale(a []float32, s float32) []float32 {
	y := make([]float32, len(a))
	for i := range a {
		y[i] = a[i] * s
	}
	return y
}

// MoESum returns out[t][d] = base[t][d] + Σ_s w[t·k+s]·ys[(t·k+s)][d]
// (base nil: zeros): the twin of moe_sum_f32.
func MoESum(ys, w, base []float32, n, k int) []float32 {
	nTok := len(w) / k
	out := make([]float32, nTok*n)
	for t := 0; t < nTok; t++ {
		for d := 0; d < n; d++ {
			var acc float32
			if base != nil {
				acc = base[t*n+d]
			}
			for s := 0; s < k; s++ {
				acc += w[t*k+s] * ys[(t*k+s)*n+d]
			}
			out[t*n+d] = acc
		}
	}
	return out
}
