package gpu

import (
	"fmt"
	"math"

	"github.com/gguftool/gguftool/runtime"
	"github.com/gguftool/gguftool/runtime/kernels"
)

// NewDeepSeek2 prepares DeepSeek-V2(-Lite) model m (loaded by runtime.Load
// with no placement) on backend b, as NewGPTOSS does: multi-head latent
// attention in the absorbed form (mla.go) with a latent GPU cache, YaRN
// (truncated correction range) on the rope dims with the softmax scale
// times mscale², and DeepSeek's MoE (dense leading layers, shared experts).
func NewDeepSeek2(m *runtime.Model, b *Backend, o Options) (*Executor, error) {
	if m.Arch != "deepseek2" {
		return nil, fmt.Errorf("%s: the deepseek2 executor runs deepseek2, not %s", m.File.Path(), m.Arch)
	}
	l := &binder{m: m}
	g := &Executor{b: b, m: m, o: o, nLayer: m.NLayer, d: m.NEmbd, nVocab: m.NVocab, hostData: map[*runtime.Tensor][]byte{}}
	g.nHead = l.int("attention.head_count", -1)
	g.nExp, g.nUsed = l.int("expert_count", -1), l.int("expert_used_count", -1)
	g.ff = l.int("expert_feed_forward_length", -1)
	nDense := l.int("leading_dense_block_count", 0)
	nShared := l.int("expert_shared_count", 0)
	rank := l.int("attention.kv_lora_rank", -1)
	nRope := l.int("rope.dimension_count", -1)
	kLen := l.int("attention.key_length_mla", l.int("attention.key_length", 0))
	dv := l.int("attention.value_length_mla", l.int("attention.value_length", 0))
	if l.err != nil {
		return nil, l.err
	}
	if kLen <= nRope || dv <= 0 || rank <= 0 || nRope <= 0 || nRope%2 != 0 {
		return nil, fmt.Errorf("%s: deepseek2: key_length_mla %d / value_length_mla %d / rope.dimension_count %d / kv_lora_rank %d are inconsistent", m.File.Path(), kLen, dv, nRope, rank)
	}
	g.nKV, g.hd = 1, kLen
	g.eps = float32(l.float("attention.layer_norm_rms_epsilon", 1e-6))
	g.deepseekRouter(l)
	md := mlaDims{nope: kLen - nRope, rope: nRope, rank: rank, dv: dv, scale: float32(1 / math.Sqrt(float64(kLen)))}
	base := l.float("rope.freq_base", 10000)
	md.invFreq = kernels.RopeInvFreq(base, nRope)
	scaling, _ := m.File.Metadata.String("deepseek2.rope.scaling.type")
	if s := l.float("rope.scaling.factor", 1); scaling == "yarn" && s > 1 {
		md.invFreq = kernels.YarnInvFreq(kernels.YarnParams{
			Base: base, Dim: nRope, Factor: s,
			OrigCtx:  float64(l.int("rope.scaling.original_context_length", 4096)),
			BetaFast: l.float("rope.scaling.yarn_beta_fast", 32),
			BetaSlow: l.float("rope.scaling.yarn_beta_slow", 1),
			Truncate: true,
		})
		// As the CPU runtime: softmax scale · mscale², mscale from the
		// stored 0.1·mscale_all_dim.
		ms := float32(kernels.YarnMscale(s, l.float("rope.scaling.yarn_log_multiplier", 0)/0.1))
		md.scale *= ms * ms
	}
	g.mla = md
	for i := 0; i < g.nLayer; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		ly := layer{
			attnNorm: normSpec{w: l.floats(p+"attn_norm.weight", false)},
			ffnNorm:  normSpec{w: l.floats(p+"ffn_norm.weight", false)},
			mla: &mlaSpec{
				kvA: l.tensor(p + "attn_kv_a_mqa.weight"), kvNorm: l.floats(p+"attn_kv_a_norm.weight", false),
				kb: l.tensor(p + "attn_k_b.weight"), vb: l.tensor(p + "attn_v_b.weight"), o: l.tensor(p + "attn_output.weight"),
			},
		}
		a := ly.mla
		if l.has(p + "attn_q.weight") {
			a.q = l.tensor(p + "attn_q.weight")
		} else {
			a.qa, a.qb = l.tensor(p+"attn_q_a.weight"), l.tensor(p+"attn_q_b.weight")
			a.qaNorm = l.floats(p+"attn_q_a_norm.weight", false)
		}
		g.deepseekFFN(l, &ly, i, nDense, nShared)
		g.layers = append(g.layers, ly)
	}
	g.outNorm = normSpec{w: l.floats("output_norm.weight", false)}
	g.head = l.head()
	if l.err != nil {
		return nil, l.err
	}
	if err := g.upload(); err != nil {
		return nil, err
	}
	return g, nil
}
