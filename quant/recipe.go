package quant

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/gguftool/gguftool/gguf"
)

// TypeUnset marks an optional type option that was not given (ggml's
// GGML_TYPE_COUNT plays that role in llama-quantize).
const TypeUnset = gguf.TypeCount

// RecipeKey is the metadata key in which gguftool records a recipe of its
// own (one that llama-quantize cannot express).
const RecipeKey = "gguftool.quantize.recipe"

// TensorTypeRule is one --tensor-type PATTERN=TYPE: tensors whose name
// contains a match of Pattern get Type.
type TensorTypeRule struct {
	Pattern *regexp.Regexp
	Type    gguf.Type
}

// ParseTensorTypeRule parses "PATTERN=TYPE". The pattern is lowercased as
// llama-quantize does.
func ParseTensorTypeRule(s string) (TensorTypeRule, error) {
	pat, typ, ok := strings.Cut(s, "=")
	if !ok || pat == "" || typ == "" {
		return TensorTypeRule{}, fmt.Errorf("--tensor-type %q: want PATTERN=TYPE", s)
	}
	re, err := regexp.Compile(strings.ToLower(pat))
	if err != nil {
		return TensorTypeRule{}, fmt.Errorf("--tensor-type %q: %v", s, err)
	}
	t, err := ParseTargetType(typ)
	if err != nil {
		return TensorTypeRule{}, fmt.Errorf("--tensor-type %q: %v", s, err)
	}
	return TensorTypeRule{re, t}, nil
}

// ParseTargetType parses a ggml type name that gguftool can write.
func ParseTargetType(name string) (gguf.Type, error) {
	t, err := gguf.ParseType(name)
	if err != nil {
		return 0, err
	}
	if !Supported(t) || t == gguf.TypeQ8_K {
		return 0, fmt.Errorf("type %s cannot be used for weights here", t)
	}
	return t, nil
}

// Recipe is everything that decides the type of each tensor: a
// llama-quantize preset and its options, plus gguftool's expert/dense split.
type Recipe struct {
	Ftype              Ftype
	Pure               bool             // --pure: the preset's default type for every quantizable tensor
	LeaveOutputTensor  bool             // --leave-output-tensor
	TensorTypes        []TensorTypeRule // --tensor-type, first match wins
	OutputTensorType   gguf.Type        // --output-tensor-type, or TypeUnset
	TokenEmbeddingType gguf.Type        // --token-embedding-type, or TypeUnset
	AllowRequantize    bool             // quantized inputs may be requantized

	// gguftool's recipe for offloading: routed-expert tensors (*_exps) get
	// ExpertsType, every other quantizable tensor DenseType (TypeUnset:
	// as the preset says). Norms, biases, routers and 1-D tensors are
	// never quantized.
	ExpertsType gguf.Type
	DenseType   gguf.Type
}

// NewRecipe returns the plain preset f with no options.
func NewRecipe(f Ftype) *Recipe {
	return &Recipe{Ftype: f, OutputTensorType: TypeUnset, TokenEmbeddingType: TypeUnset, ExpertsType: TypeUnset, DenseType: TypeUnset}
}

// Custom reports whether the recipe goes beyond llama-quantize, in which
// case the output records it under RecipeKey.
func (r *Recipe) Custom() bool { return r.ExpertsType != TypeUnset || r.DenseType != TypeUnset }

// String describes the recipe as recorded under RecipeKey.
func (r *Recipe) String() string {
	parts := []string{"ftype=" + r.Ftype.String()}
	if r.ExpertsType != TypeUnset {
		parts = append(parts, "experts="+r.ExpertsType.String())
	}
	if r.DenseType != TypeUnset {
		parts = append(parts, "dense="+r.DenseType.String())
	}
	if r.Pure {
		parts = append(parts, "pure")
	}
	for _, tt := range r.TensorTypes {
		parts = append(parts, "tensor-type="+tt.Pattern.String()+"="+tt.Type.String())
	}
	if r.OutputTensorType != TypeUnset {
		parts = append(parts, "output="+r.OutputTensorType.String())
	}
	if r.TokenEmbeddingType != TypeUnset {
		parts = append(parts, "token-embd="+r.TokenEmbeddingType.String())
	}
	if r.LeaveOutputTensor {
		parts = append(parts, "leave-output")
	}
	return strings.Join(parts, " ")
}

// notQuantized are name fragments llama-quantize never quantizes
// (tensor_allows_quantization): routers, small or position-like tensors.
var notQuantized = []string{
	"_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
	"per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight",
	"indexer.k_proj.weight", "indexer.q_proj.weight",
	"time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
	"time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
	"time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight",
	"time_mix_g1.weight", "time_mix_g2.weight", "time_mix_decay_w1.weight",
	"time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight",
	".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd",
	".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
}

// nDims is ggml_n_dims: the number of dimensions without trailing 1s (at
// least 1).
func nDims(dims []uint64) int {
	n := len(dims)
	for n > 1 && dims[n-1] == 1 {
		n--
	}
	return max(n, 1)
}

// allowsQuantization is tensor_allows_quantization.
func (r *Recipe) allowsQuantization(t *gguf.TensorInfo) bool {
	name := t.Name
	if !strings.HasSuffix(name, "weight") || nDims(t.Dims) < 2 {
		return false
	}
	if r.LeaveOutputTensor && name == "output.weight" {
		return false
	}
	if name == "position_embd.weight" || name == "token_types.weight" {
		return false
	}
	for _, s := range notQuantized {
		if strings.Contains(name, s) {
			return false
		}
	}
	return true
}

// modelInfo is what the mixture rules need to know about the model.
type modelInfo struct {
	arch      string
	nLayer    int
	nExpert   int
	nGQA      int
	hasOutput bool
	nAttnV    int  // attn_v-like tensors in the model
	llama70B  bool // Llama with 80 layers and grouped-query attention
}

func readModelInfo(md *gguf.Metadata, tensors []gguf.TensorInfo) (modelInfo, error) {
	var mi modelInfo
	arch, err := md.String(gguf.KeyArchitecture)
	if err != nil {
		return mi, err
	}
	mi.arch = arch
	intKey := func(key string, def int64) int64 {
		if v, err := md.Int(key); err == nil {
			return v
		}
		if vs, err := md.Ints(key, 1); err == nil && len(vs) > 0 {
			return vs[0] // per-layer array: layer 0
		}
		return def
	}
	if md.Has(arch + ".block_count") {
		if _, err := md.Int(arch + ".block_count"); err != nil {
			return mi, err // present but not an integer: name it rather than read 0
		}
	}
	mi.nLayer = int(intKey(arch+".block_count", 0))
	mi.nExpert = int(intKey(arch+".expert_count", 0))
	nHead := intKey(arch+".attention.head_count", 0)
	nHeadKV := intKey(arch+".attention.head_count_kv", nHead)
	if nHeadKV != 0 {
		mi.nGQA = int(nHead / nHeadKV)
	}
	for i := range tensors {
		switch categoryOf(tensors[i].Name) {
		case catAttnV, catAttnQKV, catAttnKVB:
			mi.nAttnV++
		case catOutput:
			mi.hasOutput = true
		}
	}
	// llama.cpp's LLM_TYPE_70B, the one model size the rules look at.
	mi.llama70B = arch == "llama" && mi.nLayer == 80 && nHead != nHeadKV
	return mi, nil
}

// category is llama-quantize's broad tensor class, decided by name in
// this order (a name matching several takes the first).
type category int

const (
	catOther category = iota
	catTokenEmbd
	catAttnQ
	catAttnV
	catAttnK
	catAttnQKV
	catAttnKVB
	catAttnOutput
	catFFNUp
	catFFNGate
	catFFNDown
	catOutput
)

func categoryOf(name string) category {
	switch {
	case name == "output.weight":
		return catOutput
	case name == "token_embd.weight" || name == "per_layer_token_embd.weight":
		return catTokenEmbd
	case strings.Contains(name, "attn_qkv.weight"):
		return catAttnQKV
	case strings.Contains(name, "attn_kv_b.weight"):
		return catAttnKVB
	case strings.Contains(name, "attn_v.weight"):
		return catAttnV
	case strings.Contains(name, "attn_k.weight"):
		return catAttnK
	case strings.Contains(name, "attn_q.weight"):
		return catAttnQ
	case strings.Contains(name, "attn_output.weight"):
		return catAttnOutput
	case strings.Contains(name, "ffn_up"):
		return catFFNUp
	case strings.Contains(name, "ffn_gate"):
		return catFFNGate
	case strings.Contains(name, "ffn_down"):
		return catFFNDown
	}
	return catOther
}

// attnVLike are the categories treated as attention V (QKV and MLA's
// kv_b hold V).
func (c category) attnVLike() bool { return c == catAttnV || c == catAttnQKV || c == catAttnKVB }

// useMoreBits is llama-quantize's use_more_bits: the first and last eighth
// of the layers and every third layer in between.
func useMoreBits(i, n int) bool {
	return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2
}

// scanLayer reads a layer number the way sscanf(name, "blk.%d.") does.
func scanLayer(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return 0, false
	}
	rest = strings.TrimLeft(rest, " \t\n\v\f\r")
	neg := false
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		neg = rest[0] == '-'
		rest = rest[1:]
	}
	n, digits := 0, 0
	for ; digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9'; digits++ {
		n = n*10 + int(rest[digits]-'0')
		if n > math.MaxInt32 { // saturate; such layers are out of range anyway
			n = math.MaxInt32
		}
	}
	if digits == 0 {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// weightLess is llama_model_loader's weight_name_comparer, the order of
// the tensors in a llama-quantize output: by block number (non-block
// tensors, -1, first), then by name.
func weightLess(a, b string) bool {
	la, ok := scanLayer(a)
	if !ok {
		la = -1
	}
	lb, ok := scanLayer(b)
	if !ok {
		lb = -1
	}
	if la != lb {
		return la < lb
	}
	return a < b
}

// mixState carries llama-quantize's running counters across tensors.
type mixState struct {
	mi       modelInfo
	iAttnV   int
	iFFNDown int
	iFFNGate int
	iFFNUp   int
}

// layerOf is layer_info: for MoE models the layer comes from the name, for
// dense ones from a running counter.
func (s *mixState) layerOf(counter int, name string) (int, error) {
	if max(1, s.mi.nExpert) > 1 {
		l, ok := scanLayer(name)
		if !ok {
			return 0, fmt.Errorf("tensor %s: cannot determine its layer", name)
		}
		if l < 0 || l >= s.mi.nLayer {
			return 0, fmt.Errorf("tensor %s is in layer %d, outside [0, %s.block_count = %d)", name, l, s.mi.arch, s.mi.nLayer)
		}
		return l, nil
	}
	return counter, nil
}

// mixtureType is llama_tensor_get_type_impl's per-tensor rules (without
// an importance matrix) for the K-quant, legacy and MXFP4_MOE presets.
func (s *mixState) mixtureType(r *Recipe, t *gguf.TensorInfo, typ gguf.Type) (gguf.Type, error) {
	name, ft, mi := t.Name, r.Ftype, &s.mi
	ne := t.Ne()
	cat := categoryOf(name)
	falcon := mi.arch == "falcon"
	switch {
	case cat == catOutput || (!mi.hasOutput && cat == catTokenEmbd):
		// Tied embeddings are quantized as the output tensor.
		if r.OutputTensorType != TypeUnset {
			return r.OutputTensorType, nil
		}
		switch {
		case ft == FtypeMXFP4_MOE:
			typ = gguf.TypeQ8_0
		case falcon || ne[0]%uint64(typ.BlockSize()) != 0:
			typ = gguf.TypeQ8_0
		case typ != gguf.TypeQ8_0:
			typ = gguf.TypeQ6_K
		}
	case ft == FtypeMXFP4_MOE:
		// Stacked experts (ne[2] > 1) MXFP4, the rest Q8_0; bailingmoe3 has
		// 3-D MLA tensors, so only its FFN tensors count as experts.
		ffn := cat == catFFNUp || cat == catFFNGate || cat == catFFNDown
		if ne[2] > 1 && (mi.arch != "bailingmoe3" || ffn) {
			typ = gguf.TypeMXFP4
		} else {
			typ = gguf.TypeQ8_0
		}
	case cat == catTokenEmbd:
		if r.TokenEmbeddingType != TypeUnset {
			typ = r.TokenEmbeddingType
		}
	case cat.attnVLike():
		switch {
		case ft == FtypeQ2_K:
			if mi.nGQA >= 4 {
				typ = gguf.TypeQ4_K
			} else {
				typ = gguf.TypeQ3_K
			}
		case ft == FtypeQ2_K_S && mi.nGQA >= 4:
			typ = gguf.TypeQ4_K
		case ft == FtypeQ3_K_M:
			if s.iAttnV < 2 {
				typ = gguf.TypeQ5_K
			} else {
				typ = gguf.TypeQ4_K
			}
		case ft == FtypeQ3_K_L:
			typ = gguf.TypeQ5_K
		case (ft == FtypeQ4_K_M || ft == FtypeQ5_K_M) && useMoreBits(s.iAttnV, mi.nAttnV):
			typ = gguf.TypeQ6_K
		case ft == FtypeQ4_K_S && s.iAttnV < 4:
			typ = gguf.TypeQ5_K
		}
		if mi.llama70B && (typ == gguf.TypeQ3_K || typ == gguf.TypeQ4_K) {
			typ = gguf.TypeQ5_K // 8 heads share attn_v: cheap to give it more bits
		}
		if mi.nExpert == 8 {
			typ = gguf.TypeQ8_0
		}
		s.iAttnV++
	case cat == catAttnK:
		if mi.nExpert == 8 {
			typ = gguf.TypeQ8_0
		}
	case cat == catFFNDown:
		i, err := s.layerOf(s.iFFNDown, name)
		if err != nil {
			return 0, err
		}
		n := mi.nLayer
		switch {
		case ft == FtypeQ2_K:
			typ = gguf.TypeQ3_K
		case ft == FtypeQ2_K_S:
			if i < n/8 {
				typ = gguf.TypeQ4_K
			}
		case ft == FtypeQ3_K_M:
			switch {
			case i < n/16:
				typ = gguf.TypeQ5_K
			case !falcon || useMoreBits(i, n):
				typ = gguf.TypeQ4_K
			default:
				typ = gguf.TypeQ3_K
			}
		case ft == FtypeQ3_K_L:
			if falcon {
				typ = gguf.TypeQ4_K
			} else {
				typ = gguf.TypeQ5_K
			}
		case ft == FtypeQ4_K_M:
			if falcon {
				switch {
				case i < n/16:
					typ = gguf.TypeQ6_K
				case useMoreBits(i, n):
					typ = gguf.TypeQ5_K
				default:
					typ = gguf.TypeQ4_K
				}
			} else if useMoreBits(i, n) {
				typ = gguf.TypeQ6_K
			}
		case ft == FtypeQ5_K_M && useMoreBits(i, n):
			typ = gguf.TypeQ6_K
		case ft == FtypeQ4_K_S && !falcon && i < n/8:
			typ = gguf.TypeQ5_K
		}
		s.iFFNDown++
	case cat == catAttnOutput:
		if !falcon {
			if mi.nExpert == 8 {
				switch ft {
				case FtypeQ2_K, FtypeQ3_K_S, FtypeQ3_K_M, FtypeQ4_K_S, FtypeQ4_K_M:
					typ = gguf.TypeQ5_K
				}
			} else {
				switch ft {
				case FtypeQ2_K:
					typ = gguf.TypeQ3_K
				case FtypeQ3_K_M:
					typ = gguf.TypeQ4_K
				case FtypeQ3_K_L:
					typ = gguf.TypeQ5_K
				}
			}
		} else if ft == FtypeQ3_K_L {
			typ = gguf.TypeQ4_K
		}
	case cat == catFFNGate || cat == catFFNUp:
		// Only IQ presets change these; the layer check still applies
		// (a MoE tensor without a valid layer is an error in llama.cpp).
		counter := &s.iFFNGate
		if cat == catFFNUp {
			counter = &s.iFFNUp
		}
		if _, err := s.layerOf(*counter, name); err != nil {
			return 0, err
		}
		*counter++
	}
	return typ, nil
}

// fallback is tensor_type_fallback: a type whose block does not divide
// the row length is replaced by one whose block does, else F16.
func fallback(t *gguf.TensorInfo, typ gguf.Type) gguf.Type {
	ne0 := t.Ne()[0]
	if ne0%uint64(typ.BlockSize()) == 0 {
		return typ
	}
	switch typ {
	case gguf.TypeQ4_K:
		typ = gguf.TypeQ5_0
	case gguf.TypeQ5_K:
		typ = gguf.TypeQ5_1
	case gguf.TypeQ6_K:
		typ = gguf.TypeQ8_0
	case gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ2_0, gguf.TypeTQ1_0, gguf.TypeTQ2_0:
		typ = gguf.TypeQ4_0
	}
	if ne0%uint64(typ.BlockSize()) != 0 {
		typ = gguf.TypeF16
	}
	return typ
}
