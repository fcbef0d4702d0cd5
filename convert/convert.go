// Package convert turns HuggingFace safetensors checkpoints of the
// supported Mixture-of-Experts architectures into GGUF files identical to
// the ones llama.cpp's convert_hf_to_gguf.py writes: same metadata keys,
// order and types, same tensor names, order, types, shapes and bytes.
//
// Conversion streams: a Plan lists the output tensors and how each is made
// from the memory-mapped checkpoint; Write converts them a chunk of rows at
// a time on several cores and writes them in order, so memory use does not
// depend on the model's size.
package convert

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/gguftool/gguftool/gguf"
)

// OutTypes are the accepted --outtype values.
var OutTypes = []string{"f32", "f16", "bf16", "q8_0", "auto"}

// Options control a conversion.
type Options struct {
	// OutType is f32, f16, bf16, q8_0 or auto ("" = auto: bf16 when the
	// first 2-D checkpoint tensor is BF16, else f16).
	OutType string
	// TokenizerPre overrides tokenizer.ggml.pre.
	TokenizerPre string
	// Names override the derived general.* naming keys.
	Names Overrides
	// Workers is the number of converting goroutines (0 = GOMAXPROCS).
	Workers int
	// SkipTokenizer leaves out the tokenizer.* keys (for tests of the
	// tensor path alone).
	SkipTokenizer bool
}

// Plan is a planned conversion: the complete metadata and the output
// tensors with the recipe for each.
type Plan struct {
	Dir          string
	Architecture string // HF class
	Arch         string // general.architecture
	OutType      gguf.Type
	Metadata     *gguf.Metadata
	Tensors      []*PlannedTensor

	ckpt *Checkpoint
}

// Close releases the mapped checkpoint.
func (p *Plan) Close() error { return p.ckpt.Close() }

// DataSize is the number of tensor data bytes the output will hold
// (padding excluded).
func (p *Plan) DataSize() int64 {
	var n int64
	for _, t := range p.Tensors {
		n += int64(t.Size())
	}
	return n
}

// TensorInfos returns the output tensors as GGUF tensor infos.
func (p *Plan) TensorInfos() []gguf.TensorInfo {
	out := make([]gguf.TensorInfo, len(p.Tensors))
	for i, t := range p.Tensors {
		out[i] = gguf.TensorInfo{Name: t.Name, Type: t.Type, Dims: t.Dims}
	}
	return out
}

// NewPlan reads config.json and the checkpoint in dir and plans the
// conversion. The Plan holds the checkpoint open until Close.
func NewPlan(dir string, opts Options) (*Plan, error) {
	cfg, err := readConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	archs, _ := cfg.get("architectures").([]any)
	if len(archs) == 0 {
		return nil, fmt.Errorf("%s: no \"architectures\" entry; supported: %s", cfg.path, strings.Join(SupportedArchitectures(), ", "))
	}
	hf, _ := archs[0].(string)
	a := architectures[hf]
	if a == nil {
		return nil, fmt.Errorf("%s: architecture %q is not supported; supported: %s", cfg.path, hf, strings.Join(SupportedArchitectures(), ", "))
	}
	ckpt, err := OpenCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	p, err := plan(dir, cfg, ckpt, a, opts)
	if err != nil {
		ckpt.Close()
		return nil, err
	}
	return p, nil
}

func plan(dir string, cfg *config, ckpt *Checkpoint, a *architecture, opts Options) (*Plan, error) {
	m := &model{dir: dir, cfg: cfg, ckpt: ckpt, md: gguf.NewMetadata(), arch: a}
	out, err := resolveOutType(opts.OutType, ckpt)
	if err != nil {
		return nil, err
	}
	m.outType = out
	if qc, ok := cfg.get("quantization_config").(map[string]any); ok {
		if qm, _ := qc["quant_method"].(string); qm == "mxfp4" {
			m.mxfp4 = true
		}
	}

	m.md.Set("general.architecture", gguf.String(a.name))
	tensors, err := a.tensors(m)
	if err != nil {
		return nil, err
	}
	for _, t := range tensors {
		if t.raw == nil {
			t.Type = chooseType(t.Name, len(t.Dims), t.Dims[0], m.outType)
		}
	}
	m.md.Set("general.type", gguf.String("model"))
	if err := addSampling(m.md, dir); err != nil {
		return nil, err
	}
	addAuthorship(m.md, deriveAuthorship(dir, cfg, tensors, opts.Names))
	if err := a.params(m); err != nil {
		return nil, err
	}
	if err := checkGeometry(m, tensors); err != nil {
		return nil, err
	}
	m.md.Set("general.quantization_version", gguf.Uint32(2))
	if !opts.SkipTokenizer {
		vocab, _, err := cfg.optInt("vocab_size")
		if err != nil {
			return nil, err
		}
		if tokenizerKVs == nil {
			return nil, errors.New("tokenizer conversion is not built into this gguftool")
		}
		kvs, err := tokenizerKVs(dir, a.name, int(vocab), opts.TokenizerPre)
		if err != nil {
			return nil, err
		}
		for _, kv := range kvs {
			m.md.Set(kv.Key, kv.Value)
		}
	}
	return &Plan{Dir: dir, Architecture: a.hfName, Arch: a.name, OutType: m.outType, Metadata: m.md, Tensors: tensors, ckpt: ckpt}, nil
}

// resolveOutType maps the --outtype name to a ggml type.
func resolveOutType(name string, ckpt *Checkpoint) (gguf.Type, error) {
	switch strings.ToLower(name) {
	case "f32":
		return gguf.TypeF32, nil
	case "f16":
		return gguf.TypeF16, nil
	case "bf16":
		return gguf.TypeBF16, nil
	case "q8_0":
		return gguf.TypeQ8_0, nil
	case "", "auto":
		// llama.cpp looks at the first tensor of at least 2 dimensions.
		for _, t := range ckpt.Order {
			if len(t.Shape) >= 2 {
				if t.DType == BF16 {
					return gguf.TypeBF16, nil
				}
				return gguf.TypeF16, nil
			}
		}
		return gguf.TypeF16, nil
	}
	return 0, fmt.Errorf("unknown outtype %q (expected one of %s)", name, strings.Join(OutTypes, ", "))
}

// tokenizerKVs returns the tokenizer.* keys for a model directory (set by
// vocab.go to TokenizerMetadata).
var tokenizerKVs func(dir, arch string, vocabSize int, pre string) ([]gguf.KV, error)

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func defaultWorkers(n int) int {
	if n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// Source returns the checkpoint tensor of that name, or nil (for tensors
// computed from config.json).
func (p *Plan) Source(name string) *Tensor { return p.ckpt.Tensor(name) }
