package planner

import (
	"fmt"
	"strings"

	"github.com/gguftool/gguftool/gguf"
)

const mib = 1 << 20

// DefaultReserve is the VRAM kept free for what no llama.cpp buffer shows:
// the CUDA context, cuBLAS workspaces, allocator slack and the scheduler's
// expert copies. llama.cpp's process on the lent H100 used 730 MiB beyond
// its model, KV and compute buffers with gpt-oss-20b and every expert on the
// CPU (offload.md §7: 3,599 − 2,329 − 120 − 417 MiB); rounded up to
// 768 MiB as the margin. Replace it with the runtime's own measurement when
// it exists (--reserve).
const DefaultReserve = 768 * mib

// DefaultUBatch is llama.cpp's default -ub.
const DefaultUBatch = 512

// CacheType is the element type of the KV cache.
type CacheType string

// KV cache types llama.cpp offers and the planner models.
const (
	CacheF16  CacheType = "f16"
	CacheQ8_0 CacheType = "q8_0"
)

func (c CacheType) ggml() (gguf.Type, error) {
	switch c {
	case CacheF16, "":
		return gguf.TypeF16, nil
	case CacheQ8_0:
		return gguf.TypeQ8_0, nil
	}
	return 0, fmt.Errorf("cache type %q: want f16 or q8_0", string(c))
}

// pad256 rounds a cell count up to llama.cpp's 256.
func pad256(n int) int { return (n + 255) / 256 * 256 }

// rowBytes is the bytes of n elements of type t; quantized caches need a
// whole number of blocks.
func rowBytes(t gguf.Type, n int) (int64, error) {
	if n%t.BlockSize() != 0 {
		return 0, fmt.Errorf("a KV row of %d elements is not a multiple of the %s block (%d)", n, t, t.BlockSize())
	}
	return t.RowSize(int64(n)), nil
}

// LayerKV is the KV cache of one layer.
type LayerKV struct {
	Cells         int   // cache cells (tokens) the layer keeps
	BytesPerToken int64 // K + V bytes per cell
	Sliding       bool
}

// Bytes is the layer's cache size.
func (l LayerKV) Bytes() int64 { return int64(l.Cells) * l.BytesPerToken }

// KVCache computes each layer's cache for a context of ctx tokens, as
// llama.cpp allocates it (offload.md §6.2): full-attention layers keep
// PAD(ctx, 256) cells, sliding-window layers PAD(min(ctx, window + ubatch),
// 256); GQA layers store n_head_kv·(d_k + d_v) elements per cell, MLA
// layers the compressed latent and the rope part of K only.
func (hp *HParams) KVCache(ctx, ubatch int, cache CacheType) ([]LayerKV, error) {
	ct, err := cache.ggml()
	if err != nil {
		return nil, err
	}
	out := make([]LayerKV, hp.Layers)
	full := pad256(ctx)
	for il := range out {
		var per int64
		if hp.MLA {
			per, err = rowBytes(ct, hp.KVLoraRank+hp.RopeDim)
		} else {
			nkv := int(hp.HeadsKV[il])
			var k, v int64
			if k, err = rowBytes(ct, nkv*hp.KeyLen); err == nil {
				v, err = rowBytes(ct, nkv*hp.ValLen)
			}
			per = k + v
		}
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", il, err)
		}
		cells := full
		if hp.SWALayers[il] && hp.SWA > 0 {
			cells = pad256(min(ctx, hp.SWA+ubatch))
		}
		out[il] = LayerKV{Cells: cells, BytesPerToken: per, Sliding: hp.SWALayers[il] && hp.SWA > 0}
	}
	return out, nil
}

// Compute models the compute buffer llama.cpp reserves for one ubatch.
//
// With flash attention the buffer is dominated by the logits of the ubatch
// (n_vocab · ubatch · 4 B) plus the widest activations: per token the
// larger of 6·n_embd, two dense/shared FFN widths and k expert widths, and
// the F16 attention mask (ctx · ubatch · 2 B). Without flash attention the
// score matrix (ctx · ubatch · n_head · 4 B) is added. Calibrated against
// the buffers llama.cpp measured (offload.md §6.3; compute_test.go states
// the agreement). logits is false for a device without the output head.
type Compute struct {
	Logits, Activations, Mask, Scores int64
}

// Total is the whole buffer.
func (c Compute) Total() int64 { return c.Logits + c.Activations + c.Mask + c.Scores }

// ComputeBuffer returns the GPU compute buffer for ubatch tokens.
func (hp *HParams) ComputeBuffer(ctx, ubatch int, flashAttn bool) Compute {
	ub := int64(min(ubatch, pad256(ctx)))
	width := int64(max(6*hp.Embd, 2*hp.DenseFF, hp.ExpertsUsed*hp.ExpertFF))
	c := Compute{
		Logits:      int64(hp.Vocab) * ub * 4,
		Activations: width * ub * 4,
		Mask:        int64(pad256(ctx)) * ub * 2,
	}
	if !flashAttn {
		c.Scores = int64(pad256(ctx)) * ub * int64(hp.Heads) * 4
	}
	return c
}

// HostCompute is the CPU-side buffer for the expert splits: activations only.
func (hp *HParams) HostCompute(ubatch int) int64 {
	width := int64(max(6*hp.Embd, 2*hp.DenseFF, hp.ExpertsUsed*hp.ExpertFF))
	return width * int64(ubatch) * 4
}

// WeightBreakdown sums tensor bytes by kind.
func WeightBreakdown(ts []Tensor) map[Kind]int64 {
	out := map[Kind]int64{}
	for i := range ts {
		out[KindOf(ts[i].Name)] += int64(ts[i].Size())
	}
	return out
}

func describeKinds(b map[Kind]int64) string {
	var parts []string
	for _, k := range []Kind{KindOutput, KindAttention, KindShared, KindOther, KindExperts, KindEmbedding} {
		if b[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", k, FormatSize(b[k])))
		}
	}
	return strings.Join(parts, ", ")
}
