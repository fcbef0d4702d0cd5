package quant

import (
	"fmt"
	"slices"

	"github.com/gguftool/gguftool/gguf"
)

// qntVersion is GGML_QNT_VERSION, written as general.quantization_version.
const qntVersion = 2

// TensorPlan is the fate of one tensor: its input, and its output info
// (dimensions as ggml_n_dims writes them, the chosen type).
type TensorPlan struct {
	Src gguf.TensorInfo
	Out gguf.TensorInfo
}

// Convert reports whether the data changes type (otherwise it is copied).
func (tp *TensorPlan) Convert() bool { return tp.Src.Type != tp.Out.Type }

// Plan is a whole output file: metadata and tensors in llama-quantize's
// order.
type Plan struct {
	Recipe   *Recipe
	Metadata *gguf.Metadata
	Tensors  []TensorPlan
}

// Plan decides the output of quantizing a model with metadata md and
// tensors: the type of every tensor (llama_tensor_get_type and its
// fallbacks), the tensor order of llama-quantize (its std::map of
// weights), and the metadata (input keys, split keys removed,
// general.quantization_version and general.file_type moved last).
func (r *Recipe) Plan(md *gguf.Metadata, tensors []gguf.TensorInfo) (*Plan, error) {
	if _, ok := ftypes[r.Ftype]; !ok {
		return nil, fmt.Errorf("unsupported quantization preset %s", r.Ftype)
	}
	if r.Ftype == FtypeQ2_K_S {
		// llama-quantize refuses Q2_K_S without an importance matrix.
		return nil, fmt.Errorf("preset %s needs an importance matrix, which gguftool does not support; use Q2_K", r.Ftype)
	}
	sorted := slices.Clone(tensors)
	slices.SortStableFunc(sorted, func(a, b gguf.TensorInfo) int {
		switch {
		case weightLess(a.Name, b.Name):
			return -1
		case weightLess(b.Name, a.Name):
			return 1
		}
		return 0
	})
	mi, err := readModelInfo(md, sorted)
	if err != nil {
		return nil, err
	}
	st := &mixState{mi: mi}
	p := &Plan{Recipe: r, Metadata: r.outputMetadata(md)}
	for i := range sorted {
		t := &sorted[i]
		typ, err := r.tensorType(st, t)
		if err != nil {
			return nil, err
		}
		if typ != t.Type {
			if err := r.checkConversion(t, typ); err != nil {
				return nil, err
			}
		}
		out := gguf.TensorInfo{Name: t.Name, Type: typ, Dims: []uint64{1}}
		if len(t.Dims) > 0 {
			out.Dims = slices.Clone(t.Dims[:nDims(t.Dims)])
		}
		p.Tensors = append(p.Tensors, TensorPlan{Src: *t, Out: out})
	}
	return p, nil
}

// tensorType chooses the output type of one tensor.
func (r *Recipe) tensorType(st *mixState, t *gguf.TensorInfo) (gguf.Type, error) {
	if !r.allowsQuantization(t) {
		return t.Type, nil
	}
	def := r.Ftype.DefaultType()
	typ := def
	switch {
	case r.TokenEmbeddingType != TypeUnset && t.Name == "token_embd.weight":
		typ = r.TokenEmbeddingType
	case r.OutputTensorType != TypeUnset && t.Name == "output.weight":
		typ = r.OutputTensorType
	case r.ExpertsType != TypeUnset && t.IsExperts():
		typ = r.ExpertsType
	case r.DenseType != TypeUnset && !t.IsExperts():
		typ = r.DenseType
	case def.IsQuantized():
		if rule, ok := r.matchRule(t.Name); ok {
			typ = rule
		} else if !r.Pure {
			var err error
			if typ, err = st.mixtureType(r, t, typ); err != nil {
				return 0, err
			}
		}
	}
	return fallback(t, typ), nil
}

func (r *Recipe) matchRule(name string) (gguf.Type, bool) {
	for _, tt := range r.TensorTypes {
		if tt.Pattern.MatchString(name) {
			return tt.Type, true
		}
	}
	return 0, false
}

// checkConversion refuses conversions gguftool cannot or must not do.
func (r *Recipe) checkConversion(t *gguf.TensorInfo, to gguf.Type) error {
	if !Supported(to) {
		return fmt.Errorf("tensor %s: cannot quantize to %s", t.Name, to)
	}
	if !Supported(t.Type) {
		return fmt.Errorf("tensor %s: cannot read type %s to convert it to %s", t.Name, t.Type, to)
	}
	if t.Type.IsQuantized() && !r.AllowRequantize {
		return fmt.Errorf("tensor %s is already %s; requantizing it to %s loses precision and needs --allow-requantize", t.Name, t.Type, to)
	}
	return nil
}

// outputMetadata is the input metadata as llama-quantize writes it back.
func (r *Recipe) outputMetadata(md *gguf.Metadata) *gguf.Metadata {
	out := md.Clone()
	for _, k := range []string{gguf.KeySplitNo, gguf.KeySplitCount, gguf.KeySplitTensorsCount, RecipeKey} {
		out.Delete(k)
	}
	if r.Custom() {
		out.Set(RecipeKey, gguf.String(r.String()))
	}
	// gguf_set_val_* removes and appends, so these end the file's keys.
	out.Delete(gguf.KeyQuantizationVersion)
	out.Set(gguf.KeyQuantizationVersion, gguf.Uint32(qntVersion))
	out.Delete(gguf.KeyFileType)
	out.Set(gguf.KeyFileType, gguf.Uint32(uint32(r.Ftype)))
	return out
}
