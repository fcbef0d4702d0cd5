package synth

import (
	"fmt"
	"strings"

	"github.com/gguftool/gguftool/gguf"
)

// Types lists the values --type accepts: the converter's outtypes and one
// llama-quantize preset.
var Types = []string{"f32", "f16", "bf16", "q8_0", "q4_k_m", "mxfp4_moe"}

// recipe chooses tensor types.
type recipe struct {
	name     string
	outtype  gguf.Type // converter outtype (the llama-quantize presets start from bf16)
	quantize string    // llama-quantize preset applied on top: "", "q4_k_m", "mxfp4_moe"
}

func parseRecipe(name string) (recipe, error) {
	switch strings.ToLower(name) {
	case "f32":
		return recipe{"f32", gguf.TypeF32, ""}, nil
	case "f16":
		return recipe{"f16", gguf.TypeF16, ""}, nil
	case "bf16":
		return recipe{"bf16", gguf.TypeBF16, ""}, nil
	case "q8_0":
		return recipe{"q8_0", gguf.TypeQ8_0, ""}, nil
	case "q4_k_m":
		return recipe{"q4_k_m", gguf.TypeBF16, "q4_k_m"}, nil
	case "mxfp4_moe":
		return recipe{"mxfp4_moe", gguf.TypeBF16, "mxfp4_moe"}, nil
	}
	return recipe{}, fmt.Errorf("unknown --type %q (known: %s)", name, strings.Join(Types, ", "))
}

// converterType is the type convert_hf_to_gguf.py gives a tensor
// (conversion.md §1.4).
func (r recipe) converterType(x tensor) gguf.Type {
	if x.hasRaw {
		return x.raw
	}
	n := x.name
	if len(x.dims) <= 1 || strings.HasSuffix(n, "_norm.weight") ||
		strings.HasSuffix(n, ".ffn_gate_inp.weight") || !strings.HasSuffix(n, ".weight") {
		return gguf.TypeF32
	}
	if r.outtype == gguf.TypeQ8_0 && x.dims[0]%32 != 0 {
		return gguf.TypeF16 // the converter's fallback when Q8_0 does not divide a row
	}
	return r.outtype
}

// fileType is general.file_type as the converter (or llama-quantize) writes it.
func (r recipe) fileType(hasMXFP4 bool) uint32 {
	switch r.quantize {
	case "q4_k_m":
		return 15 // MOSTLY_Q4_K_M
	case "mxfp4_moe":
		return 38 // MOSTLY_MXFP4_MOE
	}
	switch r.outtype {
	case gguf.TypeQ8_0:
		return 7
	case gguf.TypeF32:
		if hasMXFP4 {
			return 38
		}
		return 0
	case gguf.TypeF16:
		if hasMXFP4 {
			return 38
		}
		return 1
	default: // BF16
		if hasMXFP4 {
			return 38
		}
		return 32
	}
}

// quantizable is llama-quantize's tensor_allows_quantization for the
// tensors these architectures have (gguf-format.md §8.1).
func quantizable(name string, dims []uint64) bool {
	return len(dims) >= 2 && strings.HasSuffix(name, "weight") && !strings.HasSuffix(name, "_norm.weight") &&
		!strings.Contains(name, "ffn_gate_inp.weight")
}

// useMoreBits is llama-quantize's use_more_bits(i, n).
func useMoreBits(i, n int) bool { return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2 }

// q4KM assigns llama-quantize's Q4_K_M types (gguf-format.md §8.3–8.4,
// no imatrix) to tensors that currently have types cur, in file order.
func q4KM(tensors []tensor, cur []gguf.Type, nLayer, nExpert int) []gguf.Type {
	out := append([]gguf.Type(nil), cur...)
	nV := 0
	for _, x := range tensors {
		if quantizable(x.name, x.dims) && attnVLike(x.name) {
			nV++
		}
	}
	iV := 0
	for i, x := range tensors {
		if !quantizable(x.name, x.dims) {
			continue
		}
		n := x.name
		var target gguf.Type
		switch {
		case n == "output.weight":
			target = gguf.TypeQ6_K
			if x.dims[0]%256 != 0 {
				target = gguf.TypeQ8_0
			}
		case n == "token_embd.weight":
			target = gguf.TypeQ4_K
		case attnVLike(n):
			target = gguf.TypeQ4_K
			if nExpert == 8 {
				target = gguf.TypeQ8_0
			} else if useMoreBits(iV, nV) {
				target = gguf.TypeQ6_K
			}
			iV++
		case strings.Contains(n, "attn_k.weight"):
			target = gguf.TypeQ4_K
			if nExpert == 8 {
				target = gguf.TypeQ8_0
			}
		case strings.Contains(n, "attn_output.weight"):
			target = gguf.TypeQ4_K
			if nExpert == 8 {
				target = gguf.TypeQ5_K
			}
		case strings.Contains(n, "ffn_down"):
			target = gguf.TypeQ4_K
			if l := gguf.LayerOf(n); l >= 0 && useMoreBits(l, nLayer) {
				target = gguf.TypeQ6_K
			}
		default: // ffn_gate*, ffn_up*, attn_q, MLA tensors: the preset's default
			target = gguf.TypeQ4_K
		}
		out[i] = fallback(target, x.dims[0], cur[i])
	}
	return out
}

// mxfp4MoE assigns llama-quantize's MXFP4_MOE types (gguf-format.md §8.3):
// every quantizable tensor with ne[2] > 1 (the stacked experts, and
// deepseek2's attn_k_b/attn_v_b) becomes MXFP4, everything else quantizable
// Q8_0, both with the shape fallback.
func mxfp4MoE(tensors []tensor, cur []gguf.Type) []gguf.Type {
	out := append([]gguf.Type(nil), cur...)
	for i, x := range tensors {
		if !quantizable(x.name, x.dims) {
			continue
		}
		target := gguf.TypeQ8_0
		if len(x.dims) >= 3 && x.dims[2] > 1 {
			target = gguf.TypeMXFP4
		}
		out[i] = fallback(target, x.dims[0], cur[i])
	}
	return out
}

func attnVLike(n string) bool {
	return strings.Contains(n, "attn_v.weight") || strings.Contains(n, "attn_qkv.weight") || strings.Contains(n, "attn_kv_b.weight")
}

// fallback is tensor_type_fallback: a type whose block does not divide the
// row falls back to a 32-element type, then to F16.
func fallback(target gguf.Type, ne0 uint64, _ gguf.Type) gguf.Type {
	if ne0%uint64(target.BlockSize()) == 0 {
		return target
	}
	switch target {
	case gguf.TypeQ4_K:
		target = gguf.TypeQ5_0
	case gguf.TypeQ5_K:
		target = gguf.TypeQ5_1
	case gguf.TypeQ6_K:
		target = gguf.TypeQ8_0
	case gguf.TypeQ2_K, gguf.TypeQ3_K:
		target = gguf.TypeQ4_0
	}
	if ne0%uint64(target.BlockSize()) != 0 {
		return gguf.TypeF16
	}
	return target
}
