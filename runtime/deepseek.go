package runtime

import (
	"fmt"
	"math"

	"github.com/gguftool/gguftool/runtime/kernels"
)

// deepseek is DeepSeek-MoE v1: Llama attention (MHA, no biases) with
// adjacent-pair rope on the converter-permuted Q/K, a dense first layer, and
// softmax-then-top-k routing without renormalization plus shared experts.
type deepseek struct {
	m       *Model
	layers  []deepseekLayer
	outNorm norm
	head    *Tensor
	rope    kernels.Rope
	kw, vw  []int
}

type deepseekLayer struct {
	attnNorm, ffnNorm norm
	attn              gqa
	ffn               *ffn // dense layer, or the shared experts of a MoE layer
	moe               *moe
}

// loadDeepSeekFFN binds layer i's feed-forward: dense below
// leading_dense_block_count, else routed experts plus optional shared experts.
// Used by deepseek and deepseek2.
func loadDeepSeekFFN(l *loader, i int) (*ffn, *moe) {
	d := l.m.NEmbd
	nDense := l.uOpt("leading_dense_block_count", 0)
	if i < nDense {
		ff := l.u("feed_forward_length")
		return &ffn{
			gate: l.tensor(blk(i, "ffn_gate.weight"), d, ff),
			up:   l.tensor(blk(i, "ffn_up.weight"), d, ff),
			down: l.tensor(blk(i, "ffn_down.weight"), ff, d),
		}, nil
	}
	nExp, nUsed := l.experts()
	ff := l.u("expert_feed_forward_length")
	if gf := l.uOpt("expert_gating_func", 1); gf != 1 {
		l.fail("expert_gating_func %d is not supported (only 1, softmax)", gf)
	}
	if l.uOpt("expert_group_count", 1) > 1 {
		l.fail("expert_group_count > 1 (grouped expert selection) is not supported")
	}
	mo := &moe{
		layer:   i,
		gateInp: l.tensor(blk(i, "ffn_gate_inp.weight"), d, nExp),
		gate:    l.tensor(blk(i, "ffn_gate_exps.weight"), d, ff, nExp),
		up:      l.tensor(blk(i, "ffn_up_exps.weight"), d, ff, nExp),
		down:    l.tensor(blk(i, "ffn_down_exps.weight"), ff, d, nExp),
		nExpert: nExp, nUsed: nUsed, nFF: ff,
		route: routeSoftmaxTopK(l.boolOpt("expert_weights_norm", false), float32(l.flOpt("expert_weights_scale", 1))),
		act:   kernels.SwiGLU,
	}
	var sh *ffn
	if nShared := l.uOpt("expert_shared_count", 0); nShared > 0 {
		sff := nShared * ff
		sh = &ffn{
			gate: l.tensor(blk(i, "ffn_gate_shexp.weight"), d, sff),
			up:   l.tensor(blk(i, "ffn_up_shexp.weight"), d, sff),
			down: l.tensor(blk(i, "ffn_down_shexp.weight"), sff, d),
		}
	}
	return sh, mo
}

func loadDeepSeek(l *loader) (graph, error) {
	m := l.m
	d := m.NEmbd
	nHead := l.pos("attention.head_count")
	nKV := l.uOpt("attention.head_count_kv", nHead)
	eps := float32(l.fl("attention.layer_norm_rms_epsilon"))
	if l.err != nil {
		return nil, l.err
	}
	hd := d / nHead
	nRot := l.ropeDims(l.uOpt("rope.dimension_count", hd), hd)
	l.heads(nHead, nKV)
	if l.err != nil {
		return nil, l.err // before the rope tables are sized by nRot
	}
	if st := l.strOpt("rope.scaling.type", "none"); st != "none" && st != "" {
		return nil, fmt.Errorf("%s: deepseek rope scaling %q is not supported", l.f.Path(), st)
	}
	// The converter permuted Q/K rows so that adjacent pairs rotate (NORM).
	g := &deepseek{m: m, rope: kernels.Rope{Style: kernels.RopeNorm, Scale: 1, InvFreq: kernels.RopeInvFreq(l.flOpt("rope.freq_base", 10000), nRot)}}
	for i := 0; i < m.NLayer; i++ {
		ly := deepseekLayer{
			attnNorm: norm{kind: normRMS, w: l.vec(blk(i, "attn_norm.weight"), d), eps: eps},
			ffnNorm:  norm{kind: normRMS, w: l.vec(blk(i, "ffn_norm.weight"), d), eps: eps},
			attn: gqa{
				q:     l.tensor(blk(i, "attn_q.weight"), d, nHead*hd),
				k:     l.tensor(blk(i, "attn_k.weight"), d, nKV*hd),
				v:     l.tensor(blk(i, "attn_v.weight"), d, nKV*hd),
				o:     l.tensor(blk(i, "attn_output.weight"), nHead*hd, d),
				nHead: nHead, nKV: nKV, headDim: hd,
				scale: float32(1 / math.Sqrt(float64(hd))),
			},
		}
		ly.ffn, ly.moe = loadDeepSeekFFN(l, i)
		g.layers = append(g.layers, ly)
		g.kw = append(g.kw, nKV*hd)
		g.vw = append(g.vw, nKV*hd)
	}
	g.outNorm = norm{kind: normRMS, w: l.vec("output_norm.weight", d), eps: eps}
	g.head = outputHead(l, d)
	return g, l.err
}

func (g *deepseek) kvWidths() ([]int, []int) { return g.kw, g.vw }

// runDeepSeekFFN adds the layer's FFN output (dense, or routed + shared) to h.
func runDeepSeekFFN(e *exec, h, x []float32, n int, dense *ffn, mo *moe) {
	if mo != nil {
		kernels.Add(h, mo.run(e, x, n))
	}
	if dense != nil {
		kernels.Add(h, dense.run(e, x, n))
	}
}

func (g *deepseek) forward(e *exec, s *Session, tokens []int32, pos0 int) []float32 {
	n, d := len(tokens), g.m.NEmbd
	h := make([]float32, n*d)
	x := make([]float32, n*d)
	e.embed(h, tokens)
	if e.err != nil {
		return h
	}
	for i := range g.layers {
		ly := &g.layers[i]
		ly.attnNorm.apply(x, h, n)
		kernels.Add(h, ly.attn.run(e, &s.kv[i], x, n, pos0, &g.rope))
		ly.ffnNorm.apply(x, h, n)
		runDeepSeekFFN(e, h, x, n, ly.ffn, ly.moe)
	}
	return h
}

func (g *deepseek) output(e *exec, logits, h []float32, n int) {
	x := make([]float32, len(h))
	g.outNorm.apply(x, h, n)
	e.mm(logits, g.head, x, n)
}
