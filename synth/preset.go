// Package synth writes random-weight GGUF files with the exact geometry,
// metadata keys and tensor types of real Mixture-of-Experts models, so that
// placement, memory and speed can be studied without downloading them.
//
// The layout follows what llama.cpp's convert_hf_to_gguf.py writes
// (../shared/reference/conversion.md): the same keys in the same order with
// the same types, the same tensor names, shapes, types and order (one-shard
// order). Only the values are random, and the tokenizer is a synthetic
// vocabulary of the real size. The values are those of a freshly
// initialized network (values.go: σ = 1/√fan-in, residual writers scaled
// down by √(2·layers), norms near 1), so the models are well-conditioned:
// tiny numerical differences stay tiny through all the layers, which makes
// them fit for checking one runtime against another. Quantized blocks are
// written directly as random codes with scales chosen for that σ, so files
// of tens of GB stream at disk speed.
package synth

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Preset is the geometry of one model: everything the metadata and the
// tensor shapes are computed from.
type Preset struct {
	Name        string // preset name on the command line
	Arch        string // general.architecture
	Description string // one line for --help and listings

	// Authorship keys (conversion.md §1.6); empty ones are not written.
	GeneralName, Finetune, Basename, SizeLabel string

	Layers       int
	Embd         int // hidden size
	FF           int // feed_forward_length (dense FFN, or intermediate_size)
	Heads        int
	HeadsKV      int
	HeadDim      int // gpt-oss key/value length; deepseek/phimoe: Embd/Heads
	Experts      int
	ExpertsUsed  int
	ExpertFF     int
	Shared       int // shared experts (deepseek*)
	LeadingDense int // leading dense layers (deepseek*)
	Vocab        int
	CtxTrain     int
	SWA          int     // sliding window (gpt-oss, phimoe's unused key)
	RopeDim      int     // rope.dimension_count where written
	RopeBase     float32 // rope.freq_base
	RMSEps       float32

	// deepseek2 (MLA)
	KVLoraRank, QKNope, QKRope, VHead int

	Tok Tokenizer

	DefaultType string // outtype/recipe used when --type is not given
}

// Tokenizer describes the synthetic vocabulary: its model and the ids of the
// special tokens the real tokenizer has.
type Tokenizer struct {
	Model    string // "gpt2" or "llama"
	Pre      string
	Real     int // ids below Real are tokens, the rest "[PAD{i}]"
	BOS, EOS int
	Pad, Unk int // -1: not written
	// Ids in [ControlFrom, Real) are special (CONTROL) tokens, like the
	// added tokens of the real tokenizer.
	ControlFrom int
	// add_* flags in the order the converter writes them ("bos", "sep", "eos").
	AddFlags []flag
}

type flag struct {
	Name  string
	Value bool
}

var presets = map[string]Preset{}

func add(p Preset) { presets[p.Name] = p }

// Presets returns the preset names, sorted.
func Presets() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the named preset.
func Lookup(name string) (Preset, error) {
	p, ok := presets[name]
	if !ok {
		return Preset{}, fmt.Errorf("unknown preset %q (known: %s)", name, strings.Join(Presets(), ", "))
	}
	return p, nil
}

var (
	gptossTok = func(real, bos, eos, pad int) Tokenizer {
		return Tokenizer{Model: "gpt2", Pre: "gpt-4o", Real: real, BOS: bos, EOS: eos, Pad: pad, Unk: -1, ControlFrom: bos}
	}
	deepseekTok = func(pre string, real, bos, eos int) Tokenizer {
		return Tokenizer{Model: "gpt2", Pre: pre, Real: real, BOS: bos, EOS: eos, Pad: -1, Unk: -1, ControlFrom: bos,
			AddFlags: []flag{{"bos", true}, {"sep", false}, {"eos", false}}}
	}
	phiTok = func(real, bos, eos, pad, unk int) Tokenizer {
		return Tokenizer{Model: "llama", Pre: "default", Real: real, BOS: bos, EOS: eos, Pad: pad, Unk: unk, ControlFrom: eos,
			AddFlags: []flag{{"bos", false}, {"eos", false}}}
	}
)

func init() {
	// Real geometries: performance.md §1.1 and conversion.md §3–6.
	gptoss := Preset{
		Arch: "gpt-oss", Basename: "gpt-oss",
		Embd: 2880, FF: 2880, Heads: 64, HeadsKV: 8, HeadDim: 64,
		ExpertsUsed: 4, ExpertFF: 2880, Vocab: 201088, CtxTrain: 131072, SWA: 128,
		RopeBase: 150000, RMSEps: 1e-5,
		Tok:         gptossTok(200019, 199998, 200002, 199999),
		DefaultType: "f16",
	}
	p := gptoss
	p.Name, p.Description = "gpt-oss-20b", "GPT-OSS-20B: 24 layers, 32 experts (4 active), MXFP4 experts"
	p.GeneralName, p.SizeLabel, p.Layers, p.Experts = "Gpt Oss 20b", "20B", 24, 32
	add(p)
	p = gptoss
	p.Name, p.Description = "gpt-oss-120b", "GPT-OSS-120B: 36 layers, 128 experts (4 active), MXFP4 experts"
	p.GeneralName, p.SizeLabel, p.Layers, p.Experts = "Gpt Oss 120b", "120B", 36, 128
	add(p)

	add(Preset{
		Name: "phi-3.5-moe", Arch: "phimoe", Description: "Phi-3.5-MoE-instruct: 32 layers, 16 experts (2 active)",
		GeneralName: "Phi 3.5 MoE Instruct", Finetune: "instruct", Basename: "Phi-3.5-MoE",
		Layers: 32, Embd: 4096, FF: 6400, Heads: 32, HeadsKV: 8, HeadDim: 128,
		Experts: 16, ExpertsUsed: 2, ExpertFF: 6400, Vocab: 32064, CtxTrain: 131072, SWA: 131072,
		RopeDim: 128, RopeBase: 10000, RMSEps: 1e-5,
		Tok:         phiTok(32011, 1, 32000, 32000, 0),
		DefaultType: "q4_k_m",
	})
	add(Preset{
		Name: "deepseek-moe-16b", Arch: "deepseek", Description: "DeepSeek-MoE-16B-chat: 28 layers (layer 0 dense), 64 experts (6 active) + 2 shared",
		GeneralName: "Deepseek Moe 16b Chat", Finetune: "chat", Basename: "deepseek-moe", SizeLabel: "16B",
		Layers: 28, Embd: 2048, FF: 10944, Heads: 16, HeadsKV: 16, HeadDim: 128,
		Experts: 64, ExpertsUsed: 6, ExpertFF: 1408, Shared: 2, LeadingDense: 1, Vocab: 102400, CtxTrain: 4096,
		RopeDim: 128, RopeBase: 10000, RMSEps: 1e-6,
		Tok:         deepseekTok("deepseek-llm", 100015, 100000, 100001),
		DefaultType: "q4_k_m",
	})
	add(Preset{
		Name: "deepseek-v2-lite", Arch: "deepseek2", Description: "DeepSeek-V2-Lite: 27 layers (layer 0 dense), MLA, 64 experts (6 active) + 2 shared",
		GeneralName: "DeepSeek V2 Lite",
		Layers:      27, Embd: 2048, FF: 10944, Heads: 16, HeadsKV: 1,
		Experts: 64, ExpertsUsed: 6, ExpertFF: 1408, Shared: 2, LeadingDense: 1, Vocab: 102400, CtxTrain: 163840,
		RopeBase: 10000, RMSEps: 1e-6,
		KVLoraRank: 512, QKNope: 128, QKRope: 64, VHead: 128,
		Tok:         deepseekTok("deepseek-llm", 100015, 100000, 100001),
		DefaultType: "q4_k_m",
	})

	// Tiny presets: the geometry of the test fixtures (testdata/fixtures/*),
	// so their layout can be checked against llama.cpp's own conversions.
	add(Preset{
		Name: "tiny-gpt-oss", Arch: "gpt-oss", Description: "fixture-sized gpt-oss: 3 layers, hidden 256, 8 experts (2 active)",
		GeneralName: "Gpt Oss",
		Layers:      3, Embd: 256, FF: 256, Heads: 4, HeadsKV: 2, HeadDim: 64,
		Experts: 8, ExpertsUsed: 2, ExpertFF: 256, Vocab: 1024, CtxTrain: 131072, SWA: 8,
		RopeBase: 150000, RMSEps: 1e-5,
		Tok:         gptossTok(1003, 998, 1002, 999),
		DefaultType: "f16",
	})
	add(Preset{
		Name: "tiny-phimoe", Arch: "phimoe", Description: "fixture-sized phimoe: 3 layers, hidden 256, 8 experts (2 active)",
		GeneralName: "Phimoe",
		Layers:      3, Embd: 256, FF: 256, Heads: 4, HeadsKV: 2, HeadDim: 64,
		Experts: 8, ExpertsUsed: 2, ExpertFF: 256, Vocab: 1064, CtxTrain: 131072, SWA: 131072,
		RopeDim: 64, RopeBase: 10000, RMSEps: 1e-5,
		Tok:         phiTok(1061, 1, 1000, 1000, 0),
		DefaultType: "f16",
	})
	add(Preset{
		Name: "tiny-deepseek-moe", Arch: "deepseek", Description: "fixture-sized deepseek: 3 layers (layer 0 dense), hidden 256, 8 experts + 2 shared",
		GeneralName: "Deepseek Moe",
		Layers:      3, Embd: 256, FF: 512, Heads: 4, HeadsKV: 4, HeadDim: 64,
		Experts: 8, ExpertsUsed: 2, ExpertFF: 256, Shared: 2, LeadingDense: 1, Vocab: 1048, CtxTrain: 4096,
		RopeDim: 64, RopeBase: 10000, RMSEps: 1e-6,
		Tok:         deepseekTok("deepseek-llm", 1003, 998, 999),
		DefaultType: "f16",
	})
	add(Preset{
		Name: "tiny-deepseek-v2-lite", Arch: "deepseek2", Description: "fixture-sized deepseek2: 3 layers, MLA (kv_lora 64), 8 experts + 2 shared",
		GeneralName: "Deepseek v2 Lite",
		Layers:      3, Embd: 256, FF: 512, Heads: 4, HeadsKV: 1,
		Experts: 8, ExpertsUsed: 2, ExpertFF: 256, Shared: 2, LeadingDense: 1, Vocab: 1048, CtxTrain: 163840,
		RopeBase: 10000, RMSEps: 1e-6,
		KVLoraRank: 64, QKNope: 64, QKRope: 32, VHead: 64,
		Tok:         deepseekTok("deepseek-v3", 1003, 998, 999),
		DefaultType: "f16",
	})
}

// WithLayers returns the preset cut (or grown) to n layers. Leading dense
// layers are kept.
func (p Preset) WithLayers(n int) (Preset, error) {
	if n < 1 || n > 1000 {
		return p, fmt.Errorf("--layers %d: must be between 1 and 1000", n)
	}
	if n <= p.LeadingDense {
		return p, fmt.Errorf("--layers %d: %s has %d leading dense layer(s); need at least %d layers for an MoE layer",
			n, p.Name, p.LeadingDense, p.LeadingDense+1)
	}
	p.Layers = n
	return p, nil
}

// WithVocab returns p with a vocabulary of n tokens instead of p.Vocab,
// the special tokens kept at the same distance from the end (ids below 259,
// the byte tokens and llama's <unk>/<s>/</s>, stay). Tests use it to run
// real layer shapes without a gigabyte output head.
func (p Preset) WithVocab(n int) (Preset, error) {
	shift := p.Vocab - n
	move := func(id int) (int, error) {
		if id < 259 || shift == 0 {
			return id, nil
		}
		if id-shift < 259 {
			return 0, fmt.Errorf("--vocab %d: too small for %s's special tokens (at least %d)", n, p.Name, p.Vocab-id+259)
		}
		return id - shift, nil
	}
	if n < 1 || n > p.Vocab {
		return p, fmt.Errorf("--vocab %d: must be between 1 and %s's %d", n, p.Name, p.Vocab)
	}
	tk := p.Tok
	var err error
	for _, id := range []*int{&tk.Real, &tk.ControlFrom, &tk.BOS, &tk.EOS, &tk.Pad, &tk.Unk} {
		if *id >= 0 {
			if *id, err = move(*id); err != nil {
				return p, err
			}
		}
	}
	p.Tok, p.Vocab = tk, n
	return p, nil
}

// layerOrder is the order in which the converter visits layers: source
// names are sorted as strings, so "model.layers.10." comes before "…2.".
func (p Preset) layerOrder() []int {
	ids := make([]int, p.Layers)
	for i := range ids {
		ids[i] = i
	}
	slices.SortFunc(ids, func(a, b int) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return ids
}
