// Package planner decides which tensors of a GGUF model live in GPU memory
// and which stay in CPU memory under a VRAM budget, aligned to expert
// tensors, and writes the decision as a manifest the runtime executes and
// as the llama.cpp flags that give the same placement.
//
// The memory model follows llama.cpp (../shared/reference/offload.md §6):
// weights are exact tensor bytes, the KV cache is computed per layer (GQA,
// MLA, sliding-window layers at their window), compute buffers are modelled
// from the batch size and calibrated against llama.cpp's measured buffers,
// and a reserve covers the CUDA context. docs/planner.md explains the
// choices.
package planner

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/gguftool/gguftool/gguf"
)

// Model is what the planner needs from a GGUF file: its metadata and its
// tensors with their absolute positions. No tensor data is read, so a plan
// can be made from a header alone.
type Model struct {
	Path     string
	Size     int64
	Metadata *gguf.Metadata
	Tensors  []Tensor
}

// Tensor is a tensor info with the absolute offset of its data in its file.
type Tensor struct {
	gguf.TensorInfo
	FileOffset int64
}

// FromFile describes an open GGUF model (all shards of a split model).
func FromFile(f *gguf.File) *Model {
	m := &Model{Path: f.Path(), Size: f.Size(), Metadata: f.Metadata}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		m.Tensors = append(m.Tensors, Tensor{TensorInfo: *t, FileOffset: f.FileOffset(t)})
	}
	return m
}

// FromHeader describes a single-file model from its header; offsets are
// h.DataOffset plus each tensor's data-relative offset.
func FromHeader(path string, size int64, h *gguf.Header) *Model {
	m := &Model{Path: path, Size: size, Metadata: h.Metadata}
	for _, t := range h.Tensors {
		m.Tensors = append(m.Tensors, Tensor{TensorInfo: t, FileOffset: h.DataOffset + int64(t.Offset)})
	}
	return m
}

// expertRE is the pattern of llama.cpp's --cpu-moe (offload.md §3.2): every
// routed-expert weight and bias, not the router, not shared experts.
var expertRE = regexp.MustCompile(`\.ffn_(up|down|gate|gate_up)_(ch|)exps`)

// IsExpert reports whether a tensor holds routed experts (and moves with
// --cpu-moe / --n-cpu-moe in llama.cpp).
func IsExpert(name string) bool { return expertRE.MatchString(name) }

// Kind classifies a tensor for placement and for the summary.
type Kind string

// Tensor kinds.
const (
	KindExperts   Kind = "experts"    // routed experts (stacked *_exps)
	KindEmbedding Kind = "token_embd" // stays in CPU memory like llama.cpp
	KindOutput    Kind = "output"     // output head (+ bias)
	KindAttention Kind = "attention"
	KindShared    Kind = "shared_ffn" // shared experts and dense FFN layers
	KindOther     Kind = "other"      // norms, routers, rope factors, sinks
)

// KindOf classifies a tensor name.
func KindOf(name string) Kind {
	switch {
	case IsExpert(name):
		return KindExperts
	case strings.HasPrefix(name, "token_embd."):
		return KindEmbedding
	case name == "output.weight" || name == "output.bias":
		return KindOutput
	case strings.Contains(name, "_norm."):
		return KindOther
	case strings.Contains(name, ".attn_"):
		return KindAttention
	case strings.Contains(name, "_shexp.") || strings.Contains(name, ".ffn_up.") ||
		strings.Contains(name, ".ffn_gate.") || strings.Contains(name, ".ffn_down."):
		return KindShared
	}
	return KindOther
}

// HParams are the hyperparameters the memory model needs.
type HParams struct {
	Arch        string
	Layers      int
	CtxTrain    int
	Embd        int
	Heads       int
	HeadsKV     []int64 // per layer
	KeyLen      int     // per head (K)
	ValLen      int     // per head (V)
	SWA         int     // sliding window, 0 if none
	SWALayers   []bool  // which layers use the window
	MLA         bool    // deepseek2: K-only latent cache
	KVLoraRank  int
	RopeDim     int
	Vocab       int
	Experts     int
	ExpertsUsed int
	ExpertFF    int
	DenseFF     int // widest dense or shared-expert FFN
}

// ReadHParams reads the hyperparameters from the metadata (and, for the
// vocabulary and FFN widths, from tensor shapes, which cannot disagree
// with the file).
func (m *Model) ReadHParams() (*HParams, error) {
	md := m.Metadata
	arch, err := md.String(gguf.KeyArchitecture)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Path, err)
	}
	a := arch + "."
	geti := func(key string, def int, required bool) (int, error) {
		v, err := md.Int(a + key)
		if err != nil {
			if !md.Has(a+key) && !required {
				return def, nil
			}
			return 0, fmt.Errorf("%s: %w", m.Path, err)
		}
		if v < 0 || v > 1<<31 {
			return 0, fmt.Errorf("%s: %s%s = %d is out of range", m.Path, a, key, v)
		}
		return int(v), nil
	}
	hp := &HParams{Arch: arch}
	if hp.Layers, err = geti("block_count", 0, true); err != nil {
		return nil, err
	}
	if hp.Layers == 0 {
		return nil, fmt.Errorf("%s: %sblock_count is 0", m.Path, a)
	}
	if hp.Embd, err = geti("embedding_length", 0, true); err != nil {
		return nil, err
	}
	if hp.Heads, err = geti("attention.head_count", 0, true); err != nil {
		return nil, err
	}
	if hp.Heads == 0 {
		return nil, fmt.Errorf("%s: %sattention.head_count is 0", m.Path, a)
	}
	hp.CtxTrain, _ = geti("context_length", 0, false)
	if md.Has(a + "attention.head_count_kv") {
		if hp.HeadsKV, err = md.Ints(a+"attention.head_count_kv", hp.Layers); err != nil {
			return nil, fmt.Errorf("%s: %w", m.Path, err)
		}
		if len(hp.HeadsKV) != hp.Layers {
			return nil, fmt.Errorf("%s: %sattention.head_count_kv has %d values for %d layers", m.Path, a, len(hp.HeadsKV), hp.Layers)
		}
	} else {
		hp.HeadsKV = make([]int64, hp.Layers)
		for i := range hp.HeadsKV {
			hp.HeadsKV[i] = int64(hp.Heads)
		}
	}
	if hp.KeyLen, err = geti("attention.key_length", hp.Embd/hp.Heads, false); err != nil {
		return nil, err
	}
	if hp.ValLen, err = geti("attention.value_length", hp.Embd/hp.Heads, false); err != nil {
		return nil, err
	}
	if hp.RopeDim, err = geti("rope.dimension_count", hp.KeyLen, false); err != nil {
		return nil, err
	}
	if hp.KVLoraRank, err = geti("attention.kv_lora_rank", 0, false); err != nil {
		return nil, err
	}
	hp.MLA = hp.KVLoraRank > 0
	hp.Experts, _ = geti("expert_count", 0, false)
	hp.ExpertsUsed, _ = geti("expert_used_count", 0, false)
	hp.ExpertFF, _ = geti("expert_feed_forward_length", 0, false)
	hp.SWALayers = make([]bool, hp.Layers)
	if arch == "gpt-oss" {
		// llama.cpp hard-codes the pattern: even layers slide (conversion.md §3.1).
		if hp.SWA, err = geti("attention.sliding_window", 0, true); err != nil {
			return nil, err
		}
		for i := range hp.SWALayers {
			hp.SWALayers[i] = i%2 == 0
		}
	}
	// phimoe carries sliding_window but never enables SWA (offload.md §6.2).
	for i := range m.Tensors {
		t := &m.Tensors[i]
		switch {
		case (t.Name == "output.weight" || t.Name == "token_embd.weight") && len(t.Dims) >= 2:
			hp.Vocab = max(hp.Vocab, int(t.Dims[1]))
		case strings.HasSuffix(t.Name, ".ffn_up.weight") || strings.HasSuffix(t.Name, ".ffn_up_shexp.weight"):
			if len(t.Dims) >= 2 {
				hp.DenseFF = max(hp.DenseFF, int(t.Dims[1]))
			}
		case strings.HasSuffix(t.Name, ".ffn_up_exps.weight") && hp.ExpertFF == 0 && len(t.Dims) >= 2:
			hp.ExpertFF = int(t.Dims[1])
		}
	}
	if hp.Vocab == 0 {
		if toks, err := md.Strings("tokenizer.ggml.tokens"); err == nil {
			hp.Vocab = len(toks)
		}
	}
	if err := checkHParams(m.Path, a, hp, m.Tensors); err != nil {
		return nil, err
	}
	return hp, nil
}
