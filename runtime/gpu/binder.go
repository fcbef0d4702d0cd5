package gpu

import (
	"fmt"

	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/runtime"
)

func mdInt(md *gguf.Metadata, key string, def int) (int, error) {
	if !md.Has(key) {
		if def < 0 {
			return 0, fmt.Errorf("metadata key %s is missing", key)
		}
		return def, nil
	}
	v, err := md.Int(key)
	return int(v), err
}

func mdFloat(md *gguf.Metadata, key string, def float64) (float64, error) {
	if !md.Has(key) {
		return def, nil
	}
	return md.Float(key)
}

// binder reads an executor's hyperparameters and binds its tensors from
// a loaded model, keeping the first error (naming the file and the key or
// tensor) so that a constructor reads as a description of the layers.
type binder struct {
	m   *runtime.Model
	err error
}

func (l *binder) fail(err error) {
	if l.err == nil {
		l.err = fmt.Errorf("%s: %w", l.m.File.Path(), err)
	}
}

// int is metadata key <arch>.key (def < 0: required).
func (l *binder) int(key string, def int) int {
	v, err := mdInt(l.m.File.Metadata, l.m.Arch+"."+key, def)
	if err != nil {
		l.fail(err)
	}
	return v
}

func (l *binder) float(key string, def float64) float64 {
	v, err := mdFloat(l.m.File.Metadata, l.m.Arch+"."+key, def)
	if err != nil {
		l.fail(err)
	}
	return v
}

func (l *binder) tensor(name string) *runtime.Tensor {
	t, ok := l.m.Tensor(name)
	if !ok {
		l.fail(fmt.Errorf("tensor %s is missing", name))
	}
	return t
}

// floats is a (small) tensor dequantized to float32; nil if optional and
// absent.
func (l *binder) floats(name string, optional bool) []float32 {
	t, ok := l.m.Tensor(name)
	if !ok {
		if !optional {
			l.fail(fmt.Errorf("tensor %s is missing", name))
		}
		return nil
	}
	v := make([]float32, t.Rows()*t.Cols())
	if err := cputwin.Dequant(cputwin.WeightType(t.Info.Type), t.Data, v); err != nil {
		l.fail(fmt.Errorf("%s: %w", t.Name, err))
	}
	return v
}

// has reports whether the model has tensor name.
func (l *binder) has(name string) bool {
	_, ok := l.m.Tensor(name)
	return ok
}

// moe binds layer p's router and stacked experts (biases optional).
func (l *binder) moe(p string) *moeSpec {
	return &moeSpec{
		gateInp:  l.tensor(p + "ffn_gate_inp.weight"),
		gateInpB: l.floats(p+"ffn_gate_inp.bias", true),
		exps:     [3]*runtime.Tensor{l.tensor(p + "ffn_gate_exps.weight"), l.tensor(p + "ffn_up_exps.weight"), l.tensor(p + "ffn_down_exps.weight")},
		expB:     [3][]float32{l.floats(p+"ffn_gate_exps.bias", true), l.floats(p+"ffn_up_exps.bias", true), l.floats(p+"ffn_down_exps.bias", true)},
	}
}

// gqa binds layer p's attention projections and their optional biases.
func (l *binder) gqa(p string) GQA {
	return GQA{
		Q: l.tensor(p + "attn_q.weight"), K: l.tensor(p + "attn_k.weight"), V: l.tensor(p + "attn_v.weight"), O: l.tensor(p + "attn_output.weight"),
		QB: l.floats(p+"attn_q.bias", true), KB: l.floats(p+"attn_k.bias", true), VB: l.floats(p+"attn_v.bias", true), OB: l.floats(p+"attn_output.bias", true),
	}
}

// head binds output.weight, or the tied token embedding.
func (l *binder) head() *runtime.Tensor {
	if t, ok := l.m.Tensor("output.weight"); ok {
		return t
	}
	return l.tensor("token_embd.weight")
}
