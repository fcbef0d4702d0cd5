package runtime

import (
	"github.com/gguftool/gguftool/runtime/kernels"
)

// normKind selects the normalization of a family.
type normKind int

const (
	normRMS   normKind = iota // x/rms(x)·w
	normLayer                 // (x−mean)/std·w + b
)

// norm is one normalization layer's parameters.
type norm struct {
	kind normKind
	w, b []float32
	eps  float32
}

// apply normalizes n rows of x into y.
func (p *norm) apply(y, x []float32, n int) {
	d := len(p.w)
	for t := 0; t < n; t++ {
		if p.kind == normRMS {
			kernels.RMSNorm(y[t*d:(t+1)*d], x[t*d:(t+1)*d], p.w, p.eps)
		} else {
			kernels.LayerNorm(y[t*d:(t+1)*d], x[t*d:(t+1)*d], p.w, p.b, p.eps)
		}
	}
}

// gqa is grouped-query attention with optional biases and sinks.
type gqa struct {
	q, k, v, o     *Tensor
	qb, kb, vb, ob []float32
	sinks          []float32
	nHead, nKV     int
	headDim        int
	scale          float32
	window         int // 0: full causal
}

// run computes attention for n tokens at pos0 on normalized input x and
// returns the projected output (n rows of NEmbd). rope gives the rotation
// for this call (phimoe switches tables with the sequence length).
func (a *gqa) run(e *exec, c *kvLayer, x []float32, n, pos0 int, rope *kernels.Rope) []float32 {
	qw, kw := a.nHead*a.headDim, a.nKV*a.headDim
	q := make([]float32, n*qw)
	k := make([]float32, n*kw)
	v := make([]float32, n*kw)
	e.mm(q, a.q, x, n)
	e.mm(k, a.k, x, n)
	e.mm(v, a.v, x, n)
	addBias(q, a.qb, n)
	addBias(k, a.kb, n)
	addBias(v, a.vb, n)
	for t := 0; t < n; t++ {
		rope.Apply(q[t*qw:(t+1)*qw], a.nHead, a.headDim, pos0+t)
		rope.Apply(k[t*kw:(t+1)*kw], a.nKV, a.headDim, pos0+t)
	}
	copy(c.k[pos0*kw:], k)
	copy(c.v[pos0*kw:], v)
	c.stored(pos0, n)
	att := kernels.Attention{
		NHead: a.nHead, NHeadKV: a.nKV, HeadDimK: a.headDim, HeadDimV: a.headDim,
		Scale: a.scale, Sinks: a.sinks, Window: a.window,
		K: c.k, V: c.v, KStride: kw, VStride: kw,
	}
	o := make([]float32, n*qw)
	att.Run(o, q, n, pos0)
	out := make([]float32, n*a.o.Rows())
	e.mm(out, a.o, o, n)
	addBias(out, a.ob, n)
	return out
}

// ffn is a dense gated feed-forward (silu(gate·x) ⊙ up·x, then down).
type ffn struct {
	gate, up, down *Tensor
}

// run returns the FFN output of n rows of x.
func (f *ffn) run(e *exec, x []float32, n int) []float32 {
	ff := f.gate.Rows()
	g := make([]float32, n*ff)
	u := make([]float32, n*ff)
	e.mm(g, f.gate, x, n)
	e.mm(u, f.up, x, n)
	kernels.SwiGLU(g, g, u)
	out := make([]float32, n*f.down.Rows())
	e.mm(out, f.down, g, n)
	return out
}

// router picks k experts and their weights from one token's router logits.
type router func(logits []float32, ids []int, w []float32)

// moe is a routed mixture of experts with stacked expert tensors {in, ff, E}.
type moe struct {
	layer               int
	gateInp             *Tensor
	gateInpB            []float32
	gate, up, down      *Tensor
	gateB, upB, downB   []float32 // {ff, E} / {embd, E} biases, or nil
	nExpert, nUsed, nFF int
	route               router
	// act combines gate and up into the down projection's input.
	act func(out, g, u []float32)
}

// run returns Σ_k w_k·expert_k(x) for n rows of x. Tokens are grouped by
// expert so that each expert's weights are read once per call, as ggml's
// mul_mat_id does; this is also where a placement can put experts on
// another device than attention.
func (p *moe) run(e *exec, x []float32, n int) []float32 {
	d := p.gateInp.Cols()
	logits := make([]float32, n*p.nExpert)
	e.mm(logits, p.gateInp, x, n)
	addBias(logits, p.gateInpB, n)
	ids := make([]int, n*p.nUsed)
	ws := make([]float32, n*p.nUsed)
	for t := 0; t < n; t++ {
		p.route(logits[t*p.nExpert:(t+1)*p.nExpert], ids[t*p.nUsed:(t+1)*p.nUsed], ws[t*p.nUsed:(t+1)*p.nUsed])
	}
	if e.onRoute != nil {
		e.onRoute(p.layer, p.nExpert, p.nUsed, ids)
	}
	out := make([]float32, n*d)
	// Per expert: which tokens (and with which weight) chose it.
	tokens := make([][]int, p.nExpert)
	weights := make([][]float32, p.nExpert)
	for i, id := range ids {
		tokens[id] = append(tokens[id], i/p.nUsed)
		weights[id] = append(weights[id], ws[i])
	}
	xs := make([]float32, n*d)
	g := make([]float32, n*p.nFF)
	u := make([]float32, n*p.nFF)
	y := make([]float32, n*d)
	for ex, toks := range tokens {
		m := len(toks)
		if m == 0 {
			continue
		}
		for j, t := range toks {
			copy(xs[j*d:(j+1)*d], x[t*d:(t+1)*d])
		}
		e.mmRows(g, p.gate, ex*p.nFF, (ex+1)*p.nFF, xs, m)
		e.mmRows(u, p.up, ex*p.nFF, (ex+1)*p.nFF, xs, m)
		if p.gateB != nil {
			addBias(g[:m*p.nFF], p.gateB[ex*p.nFF:(ex+1)*p.nFF], m)
			addBias(u[:m*p.nFF], p.upB[ex*p.nFF:(ex+1)*p.nFF], m)
		}
		p.act(g[:m*p.nFF], g[:m*p.nFF], u[:m*p.nFF])
		e.mmRows(y, p.down, ex*d, (ex+1)*d, g, m)
		if p.downB != nil {
			addBias(y[:m*d], p.downB[ex*d:(ex+1)*d], m)
		}
		for j, t := range toks {
			kernels.AddScaled(out[t*d:(t+1)*d], y[j*d:(j+1)*d], weights[ex][j])
		}
	}
	return out
}

// routeSoftmaxTopK is DeepSeek's gate: softmax over all experts, then the k
// largest probabilities, renormalized only if norm, times scale.
func routeSoftmaxTopK(norm bool, scale float32) router {
	return func(logits []float32, ids []int, w []float32) {
		p := append([]float32(nil), logits...)
		kernels.Softmax(p)
		top := kernels.TopK(p, len(ids), make([]int, 0, len(ids)))
		var sum float32
		for i, id := range top {
			ids[i] = id
			w[i] = p[id]
			sum += p[id]
		}
		for i := range w {
			if norm {
				w[i] /= sum
			}
			w[i] *= scale
		}
	}
}

// routeTopKSoftmax is gpt-oss's gate: the k largest logits, then a softmax
// over those k only.
func routeTopKSoftmax(logits []float32, ids []int, w []float32) {
	top := kernels.TopK(logits, len(ids), make([]int, 0, len(ids)))
	for i, id := range top {
		ids[i] = id
		w[i] = logits[id]
	}
	kernels.Softmax(w)
}
