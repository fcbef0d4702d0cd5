package runtime

import (
	"fmt"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/runtime/kernels"
)

// loader reads hyperparameters and binds tensors, remembering the first
// problem so that an architecture's load function reads as a list.
type loader struct {
	f    *gguf.File
	md   *gguf.Metadata
	arch string
	m    *Model
	err  error
}

func (l *loader) fail(format string, args ...any) {
	if l.err == nil {
		l.err = fmt.Errorf("%s: "+format, append([]any{l.f.Path()}, args...)...)
	}
}

// u reads the required integer key {arch}.key.
func (l *loader) u(key string) int {
	v, err := l.md.Int(l.arch + "." + key)
	if err != nil {
		l.fail("%v", err)
		return 0
	}
	return int(v)
}

// pos reads the required integer key {arch}.key, which must be at least 1:
// the graphs divide by and slice with these, so a zero is refused here with
// the key's name rather than becoming a panic in a forward pass.
func (l *loader) pos(key string) int {
	v := l.u(key)
	if v < 1 && l.err == nil {
		l.fail("metadata key %q is %d, expected at least 1", l.arch+"."+key, v)
	}
	return v
}

// experts reads expert_count and expert_used_count and checks that a token
// is routed to at least one and at most expert_count experts.
func (l *loader) experts() (nExp, nUsed int) {
	nExp, nUsed = l.pos("expert_count"), l.pos("expert_used_count")
	if l.err == nil && nUsed > nExp {
		l.fail("metadata key %q is %d, more than %s.expert_count = %d", l.arch+".expert_used_count", nUsed, l.arch, nExp)
	}
	return nExp, nUsed
}

// ropeDims checks rope.dimension_count n against the head size it rotates:
// even and at most headDim.
func (l *loader) ropeDims(n, headDim int) int {
	if l.err == nil && (n < 0 || n%2 != 0 || n > headDim) {
		l.fail("metadata key %q is %d, expected an even number of dimensions at most the head size %d", l.arch+".rope.dimension_count", n, headDim)
	}
	return n
}

// heads checks that query heads share the key/value heads evenly (GQA):
// attention indexes KV head h/(nHead/nKV).
func (l *loader) heads(nHead, nKV int) {
	if l.err == nil && (nKV < 1 || nHead%nKV != 0) {
		l.fail("metadata key %q is %d, expected a divisor of %s.attention.head_count = %d", l.arch+".attention.head_count_kv", nKV, l.arch, nHead)
	}
}

// uOpt reads an optional integer key.
func (l *loader) uOpt(key string, def int) int {
	if !l.md.Has(l.arch + "." + key) {
		return def
	}
	return l.u(key)
}

// fl reads the required float key {arch}.key.
func (l *loader) fl(key string) float64 {
	v, err := l.md.Float(l.arch + "." + key)
	if err != nil {
		l.fail("%v", err)
		return 0
	}
	return v
}

// flOpt reads an optional float key.
func (l *loader) flOpt(key string, def float64) float64 {
	if !l.md.Has(l.arch + "." + key) {
		return def
	}
	return l.fl(key)
}

// strOpt reads an optional string key.
func (l *loader) strOpt(key, def string) string {
	v, err := l.md.String(l.arch + "." + key)
	if err != nil {
		return def
	}
	return v
}

// boolOpt reads an optional bool key.
func (l *loader) boolOpt(key string, def bool) bool {
	v, err := l.md.Bool(l.arch + "." + key)
	if err != nil {
		return def
	}
	return v
}

// tensor returns the required tensor name, checking its ne (−1: any size).
func (l *loader) tensor(name string, ne ...int) *Tensor {
	t := l.optional(name, ne...)
	if t == nil && l.err == nil {
		l.fail("tensor %s is missing", name)
	}
	return t
}

// optional returns the tensor if present (nil otherwise), checking its ne.
func (l *loader) optional(name string, ne ...int) *Tensor {
	t, ok := l.m.tensors[name]
	if !ok {
		return nil
	}
	dims := t.Info.Dims
	bad := len(dims) != len(ne)
	for i := 0; !bad && i < len(ne); i++ {
		bad = ne[i] >= 0 && uint64(ne[i]) != dims[i]
	}
	if bad {
		l.fail("tensor %s has ne %v, want %v", name, dims, ne)
		return nil
	}
	if !kernels.Supported(t.Info.Type) {
		l.fail("tensor %s has type %s, which the CPU kernels do not support (they take F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K, MXFP4, and through package quant Q4_1, Q5_1, Q2_K, Q3_K)", name, t.Info.Type)
		return nil
	}
	return t
}

// vec returns a required tensor of n elements as float32 values.
func (l *loader) vec(name string, n int) []float32 {
	if t := l.tensor(name, n); t != nil {
		return l.floats(t)
	}
	return nil
}

// optVec is vec for an optional tensor with the given ne.
func (l *loader) optVec(name string, ne ...int) []float32 {
	if t := l.optional(name, ne...); t != nil {
		return l.floats(t)
	}
	return nil
}

func (l *loader) floats(t *Tensor) []float32 {
	v, err := t.floats()
	if err != nil {
		l.fail("%v", err)
	}
	return v
}

// blk formats the name of a per-layer tensor.
func blk(i int, name string) string { return fmt.Sprintf("blk.%d.%s", i, name) }
