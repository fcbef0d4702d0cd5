package convert

import (
	"fmt"
	"strings"

	"github.com/gguftool/gguftool/gguf"
)

// PlannedTensor is one tensor of the output file: its GGUF name, type and
// dimensions, the checkpoint tensors it is made of, and how to produce it.
type PlannedTensor struct {
	Name    string
	Type    gguf.Type
	Dims    []uint64 // ggml order: Dims[0] is the contiguous dimension
	Sources []string // checkpoint tensor names (or "config.json:KEY")

	src rowSource // float rows, converted to Type by the writer
	raw rawSource // or bytes already in Type
}

// Size is the tensor's data size in bytes.
func (p *PlannedTensor) Size() uint64 {
	ti := gguf.TensorInfo{Name: p.Name, Type: p.Type, Dims: p.Dims}
	return ti.Size()
}

// NumElements is the product of the dimensions.
func (p *PlannedTensor) NumElements() uint64 {
	n := uint64(1)
	for _, d := range p.Dims {
		n *= d
	}
	return n
}

// newTensor plans a converted tensor with the numpy shape (outermost
// first) its source produces.
func newTensor(name string, shape []int64, src rowSource, sources ...string) (*PlannedTensor, error) {
	dims := make([]uint64, len(shape))
	n := int64(1)
	for i, d := range shape {
		dims[len(shape)-1-i] = uint64(d)
		n *= d
	}
	last := int64(1)
	if len(shape) > 0 {
		last = shape[len(shape)-1]
	}
	if err := src.check(); err != nil {
		return nil, err
	}
	if int64(src.cols()) != last || int64(src.rows())*last != n {
		return nil, fmt.Errorf("tensor %s: internal error: source gives %d rows of %d, shape %v", name, src.rows(), src.cols(), shape)
	}
	return &PlannedTensor{Name: name, Dims: dims, Sources: sources, src: src}, nil
}

// chooseType applies llama.cpp's ModelBase.prepare_tensors rules for the
// type a converted (not pre-quantized) tensor is written in.
func chooseType(name string, nDims int, ne0 uint64, out gguf.Type) gguf.Type {
	if nDims <= 1 || strings.HasSuffix(name, "_norm.weight") {
		return gguf.TypeF32
	}
	for _, k := range []string{".ffn_gate_inp.weight", "ffn_gate_inp_shexp", "position_embd", "token_types"} {
		if strings.Contains(name, k) {
			return gguf.TypeF32
		}
	}
	if !strings.HasSuffix(name, ".weight") {
		return gguf.TypeF32
	}
	if out.IsQuantized() && ne0%uint64(out.BlockSize()) != 0 {
		// llama.cpp warns and falls back to F16 when rows are not whole blocks.
		return gguf.TypeF16
	}
	return out
}

// tensorSet collects the planned tensors of a model in emission order.
type tensorSet struct {
	list  []*PlannedTensor
	names map[string]bool
}

func (s *tensorSet) add(ts ...*PlannedTensor) error {
	if s.names == nil {
		s.names = map[string]bool{}
	}
	for _, t := range ts {
		if s.names[t.Name] {
			return fmt.Errorf("two checkpoint tensors map to %s (%v)", t.Name, t.Sources)
		}
		s.names[t.Name] = true
		s.list = append(s.list, t)
	}
	return nil
}
