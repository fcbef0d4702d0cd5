package runtime

import (
	"math"

	"github.com/gguftool/gguftool/runtime/kernels"
)

// deepseek2 is DeepSeek-V2(-Lite): multi-head latent attention run in the
// absorbed form (the cache holds the normalized latent ckv and the rotated
// shared k_pe, c + r floats per position), YaRN with truncated correction
// range on the rope dims, and DeepSeek MoE with shared experts.
type deepseek2 struct {
	m       *Model
	layers  []deepseek2Layer
	outNorm norm
	head    *Tensor
	rope    kernels.Rope
	nHead   int
	nNope   int // qk_nope_head_dim
	nRope   int // qk_rope_head_dim
	rank    int // kv_lora_rank (c)
	dv      int // v_head_dim
	scale   float32
	eps     float32
	kw, vw  []int
}

type deepseek2Layer struct {
	attnNorm, ffnNorm norm
	q                 *Tensor // attn_q (lite) …
	qa, qb            *Tensor // … or attn_q_a → norm → attn_q_b
	qaNorm            norm
	kvA               *Tensor // attn_kv_a_mqa: x → [ckv (c) | k_pe (r)]
	kvNorm            norm
	kb, vb            *Tensor // attn_k_b {n, c, H}, attn_v_b {c, d_v, H}
	o                 *Tensor
	ffn               *ffn
	moe               *moe
}

func loadDeepSeek2(l *loader) (graph, error) {
	m := l.m
	d := m.NEmbd
	nHead := l.pos("attention.head_count")
	eps := float32(l.fl("attention.layer_norm_rms_epsilon"))
	rank := l.u("attention.kv_lora_rank")
	nRope := l.u("rope.dimension_count")
	kLen := l.uOpt("attention.key_length_mla", l.uOpt("attention.key_length", 0))
	dv := l.uOpt("attention.value_length_mla", l.uOpt("attention.value_length", 0))
	l.ropeDims(nRope, kLen)
	if l.err != nil {
		return nil, l.err
	}
	g := &deepseek2{m: m, nHead: nHead, nNope: kLen - nRope, nRope: nRope, rank: rank, dv: dv, eps: eps}
	if g.nNope <= 0 || dv <= 0 {
		l.fail("deepseek2: key_length_mla %d / value_length_mla %d / rope.dimension_count %d are inconsistent", kLen, dv, nRope)
		return nil, l.err
	}
	base := l.flOpt("rope.freq_base", 10000)
	s := l.flOpt("rope.scaling.factor", 1)
	g.scale = float32(1 / math.Sqrt(float64(kLen)))
	g.rope = kernels.Rope{Style: kernels.RopeNorm, Scale: 1, InvFreq: kernels.RopeInvFreq(base, nRope)}
	if l.strOpt("rope.scaling.type", "none") == "yarn" && s > 1 {
		g.rope.InvFreq = kernels.YarnInvFreq(kernels.YarnParams{
			Base: base, Dim: nRope, Factor: s,
			OrigCtx:  float64(l.uOpt("rope.scaling.original_context_length", 4096)),
			BetaFast: l.flOpt("rope.scaling.yarn_beta_fast", 32),
			BetaSlow: l.flOpt("rope.scaling.yarn_beta_slow", 1),
			Truncate: true,
		})
		// transformers: softmax_scale · mscale² with mscale = yarn_get_mscale(s,
		// mscale_all_dim); the GGUF stores 0.1·mscale_all_dim. The rope's own
		// factor mscale/mscale_all_dim is 1 for released checkpoints.
		mAll := l.flOpt("rope.scaling.yarn_log_multiplier", 0) / 0.1
		ms := float32(kernels.YarnMscale(s, mAll))
		g.scale *= ms * ms
	}
	for i := 0; i < m.NLayer; i++ {
		ly := deepseek2Layer{
			attnNorm: norm{kind: normRMS, w: l.vec(blk(i, "attn_norm.weight"), d), eps: eps},
			ffnNorm:  norm{kind: normRMS, w: l.vec(blk(i, "ffn_norm.weight"), d), eps: eps},
			kvA:      l.tensor(blk(i, "attn_kv_a_mqa.weight"), d, rank+nRope),
			kvNorm:   norm{kind: normRMS, w: l.vec(blk(i, "attn_kv_a_norm.weight"), rank), eps: eps},
			kb:       l.tensor(blk(i, "attn_k_b.weight"), g.nNope, rank, nHead),
			vb:       l.tensor(blk(i, "attn_v_b.weight"), rank, dv, nHead),
			o:        l.tensor(blk(i, "attn_output.weight"), nHead*dv, d),
		}
		// "Lite" is decided by the tensors present, not by the layer count.
		if ly.q = l.optional(blk(i, "attn_q.weight"), d, nHead*kLen); ly.q == nil {
			qr := l.u("attention.q_lora_rank")
			ly.qa = l.tensor(blk(i, "attn_q_a.weight"), d, qr)
			ly.qaNorm = norm{kind: normRMS, w: l.vec(blk(i, "attn_q_a_norm.weight"), qr), eps: eps}
			ly.qb = l.tensor(blk(i, "attn_q_b.weight"), qr, nHead*kLen)
		}
		ly.ffn, ly.moe = loadDeepSeekFFN(l, i)
		g.layers = append(g.layers, ly)
		g.kw = append(g.kw, rank+nRope)
		g.vw = append(g.vw, 0)
	}
	g.outNorm = norm{kind: normRMS, w: l.vec("output_norm.weight", d), eps: eps}
	g.head = outputHead(l, d)
	return g, l.err
}

func (g *deepseek2) kvWidths() ([]int, []int) { return g.kw, g.vw }

// mla is absorbed multi-head latent attention for n tokens at pos0 on the
// normalized input x; it appends [ckv | k_pe] rows to c and returns the
// attention output projected to NEmbd.
func (g *deepseek2) mla(e *exec, ly *deepseek2Layer, c *kvLayer, x []float32, n, pos0 int) []float32 {
	H, nn, r, rank, dv := g.nHead, g.nNope, g.nRope, g.rank, g.dv
	kLen := nn + r
	row := rank + r
	q := make([]float32, n*H*kLen)
	if ly.q != nil {
		e.mm(q, ly.q, x, n)
	} else {
		qa := make([]float32, n*ly.qa.Rows())
		e.mm(qa, ly.qa, x, n)
		ly.qaNorm.apply(qa, qa, n)
		e.mm(q, ly.qb, qa, n)
	}
	kv := make([]float32, n*row)
	e.mm(kv, ly.kvA, x, n)
	for t := 0; t < n; t++ {
		kr := kv[t*row : (t+1)*row]
		ly.kvNorm.apply(kr[:rank], kr[:rank], 1)
		g.rope.ApplyOffset(kr, 1, row, rank, pos0+t)
		g.rope.ApplyOffset(q[t*H*kLen:(t+1)*H*kLen], H, kLen, nn, pos0+t)
	}
	copy(c.k[pos0*row:], kv)
	c.stored(pos0, n)
	// Absorb k_b into the query: q_abs[h] = k_b[h]ᵀ·q_nope[h] (c wide), so that
	// q·k = q_abs·ckv + q_pe·k_pe against the cached latent rows.
	qFull := make([]float32, n*H*row)
	qn := make([]float32, n*nn)
	qa := make([]float32, n*rank)
	for h := 0; h < H; h++ {
		for t := 0; t < n; t++ {
			copy(qn[t*nn:(t+1)*nn], q[t*H*kLen+h*kLen:][:nn])
		}
		e.mmRows(qa, ly.kb, h*rank, (h+1)*rank, qn, n)
		for t := 0; t < n; t++ {
			dst := qFull[t*H*row+h*row:][:row]
			copy(dst[:rank], qa[t*rank:(t+1)*rank])
			copy(dst[rank:], q[t*H*kLen+h*kLen+nn:][:r])
		}
	}
	att := kernels.Attention{
		NHead: H, NHeadKV: 1, HeadDimK: row, HeadDimV: rank,
		Scale: g.scale, K: c.k, V: c.k, KStride: row, VStride: row,
	}
	lat := make([]float32, n*H*rank)
	att.Run(lat, qFull, n, pos0)
	// Decompress per head with v_b: o[h] = v_b[h]·lat[h] (d_v wide).
	o := make([]float32, n*H*dv)
	lh := make([]float32, n*rank)
	oh := make([]float32, n*dv)
	for h := 0; h < H; h++ {
		for t := 0; t < n; t++ {
			copy(lh[t*rank:(t+1)*rank], lat[t*H*rank+h*rank:][:rank])
		}
		e.mmRows(oh, ly.vb, h*dv, (h+1)*dv, lh, n)
		for t := 0; t < n; t++ {
			copy(o[t*H*dv+h*dv:][:dv], oh[t*dv:(t+1)*dv])
		}
	}
	out := make([]float32, n*g.m.NEmbd)
	e.mm(out, ly.o, o, n)
	return out
}

func (g *deepseek2) forward(e *exec, s *Session, tokens []int32, pos0 int) []float32 {
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
		kernels.Add(h, g.mla(e, ly, &s.kv[i], x, n, pos0))
		ly.ffnNorm.apply(x, h, n)
		runDeepSeekFFN(e, h, x, n, ly.ffn, ly.moe)
	}
	return h
}

func (g *deepseek2) output(e *exec, logits, h []float32, n int) {
	x := make([]float32, len(h))
	g.outNorm.apply(x, h, n)
	e.mm(logits, g.head, x, n)
}
