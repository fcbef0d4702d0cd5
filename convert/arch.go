package convert

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gguftool/gguftool/gguf"
)

// architecture is one HF model class the converter knows. Adding an
// architecture is one file that calls registerArch in its init.
type architecture struct {
	hfName string // config.json architectures[0]
	name   string // general.architecture

	// tensors plans every output tensor in llama.cpp's order. It may add
	// metadata keys that llama.cpp sets while tensors are processed (they
	// come right after general.architecture).
	tensors func(m *model) ([]*PlannedTensor, error)
	// params adds the keys of the class's set_gguf_parameters, including
	// general.file_type at llama.cpp's position (m.fileType()).
	params func(m *model) error
}

var architectures = map[string]*architecture{}

func registerArch(a *architecture) { architectures[a.hfName] = a }

// SupportedArchitectures lists the config.json architectures the converter
// accepts.
func SupportedArchitectures() []string {
	var names []string
	for n := range architectures {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// model is the state of one conversion while it is planned.
type model struct {
	dir     string
	cfg     *config
	ckpt    *Checkpoint
	md      *gguf.Metadata
	arch    *architecture
	outType gguf.Type // F32, F16, BF16 or Q8_0
	// mxfp4 is set for checkpoints whose experts are stored in MXFP4
	// (quantization_config.quant_method == "mxfp4").
	mxfp4 bool
}

// key returns the arch-scoped key "<arch>.<suffix>".
func (m *model) key(suffix string) string { return m.arch.name + "." + suffix }

func (m *model) setU32(suffix string, v int64) error {
	if v < 0 || v > 1<<32-1 {
		return fmt.Errorf("%s: value %d does not fit UINT32", m.key(suffix), v)
	}
	m.md.Set(m.key(suffix), gguf.Uint32(uint32(v)))
	return nil
}

func (m *model) setF32(suffix string, v float64) { m.md.Set(m.key(suffix), gguf.Float32(float32(v))) }

// fileType is general.file_type (llama_ftype) for the outtype.
func (m *model) fileType() uint32 {
	if m.mxfp4 && m.outType != gguf.TypeQ8_0 {
		return 38 // MOSTLY_MXFP4_MOE
	}
	switch m.outType {
	case gguf.TypeF32:
		return 0
	case gguf.TypeF16:
		return 1
	case gguf.TypeBF16:
		return 32
	case gguf.TypeQ8_0:
		return 7
	}
	return 0
}

func (m *model) setFileType() { m.md.Set("general.file_type", gguf.Uint32(m.fileType())) }

// tensor returns a checkpoint tensor, or an error naming it.
func (m *model) tensor(name string) (*Tensor, error) {
	t := m.ckpt.Tensor(name)
	if t == nil {
		return nil, fmt.Errorf("%s: tensor %q is missing from the checkpoint", m.dir, name)
	}
	return t, nil
}

// expectShape checks a checkpoint tensor's shape against what config.json
// implies.
func expectShape(t *Tensor, want ...int64) error {
	ok := len(t.Shape) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = t.Shape[i] == want[i]
	}
	if !ok {
		return fmt.Errorf("tensor %s in %s has shape %v, config.json implies %v", t.Name, t.File.Path, t.Shape, want)
	}
	return nil
}

var layerName = regexp.MustCompile(`^model\.layers\.(\d+)\.(.+)$`)

// splitLayer parses "model.layers.N.rest".
func splitLayer(name string) (int, string, bool) {
	mm := layerName.FindStringSubmatch(name)
	if mm == nil {
		return 0, "", false
	}
	n, err := strconv.Atoi(mm[1])
	if err != nil {
		return 0, "", false
	}
	return n, mm[2], true
}

var expertName = regexp.MustCompile(`^(.*)\.experts\.(\d+)\.([a-z0-9_]+)\.weight$`)

// expertStacker buffers per-expert tensors of each layer and emits the
// stacked tensors when all kinds of all experts of the layer have been
// seen, as llama.cpp's modify_tensors does.
type expertStacker struct {
	nExpert int
	kinds   []string          // HF kind names in emission order (w1 w2 w3 / down_proj gate_proj up_proj)
	gguf    map[string]string // HF kind -> GGUF base name (ffn_gate_exps ...)
	seen    map[int]map[string]*Tensor
}

// add records an expert tensor; when the layer is complete it returns the
// stacked tensors.
func (s *expertStacker) add(layer int, prefix string, expert int, kind string, t *Tensor) ([]*PlannedTensor, error) {
	if _, ok := s.gguf[kind]; !ok {
		return nil, fmt.Errorf("tensor %s: unknown expert weight kind %q", t.Name, kind)
	}
	if s.nExpert <= 0 {
		return nil, fmt.Errorf("tensor %s: config.json gives %d experts", t.Name, s.nExpert)
	}
	if expert >= s.nExpert {
		return nil, fmt.Errorf("tensor %s: expert %d, but config.json says %d experts", t.Name, expert, s.nExpert)
	}
	if s.seen == nil {
		s.seen = map[int]map[string]*Tensor{}
	}
	l := s.seen[layer]
	if l == nil {
		l = map[string]*Tensor{}
		s.seen[layer] = l
	}
	key := fmt.Sprintf("%s/%d", kind, expert)
	l[key] = t
	if len(l) < s.nExpert*len(s.kinds) {
		return nil, nil
	}
	var out []*PlannedTensor
	for _, kind := range s.kinds {
		parts := make([]rowSource, s.nExpert)
		var names []string
		var shape []int64
		for e := 0; e < s.nExpert; e++ {
			t := l[fmt.Sprintf("%s/%d", kind, e)]
			if len(t.Shape) != 2 {
				return nil, fmt.Errorf("expert tensor %s has shape %v, expected 2 dimensions", t.Name, t.Shape)
			}
			if shape == nil {
				shape = t.Shape
			} else if t.Shape[0] != shape[0] || t.Shape[1] != shape[1] {
				return nil, fmt.Errorf("expert tensor %s has shape %v, expert 0 has %v", t.Name, t.Shape, shape)
			}
			parts[e] = plainRows(t)
			names = append(names, t.Name)
		}
		pt, err := newTensor(fmt.Sprintf("blk.%d.%s.weight", layer, s.gguf[kind]), []int64{int64(s.nExpert), shape[0], shape[1]}, newStack(parts), names...)
		if err != nil {
			return nil, err
		}
		out = append(out, pt)
	}
	delete(s.seen, layer)
	return out, nil
}

// incomplete reports layers whose experts were never all found.
func (s *expertStacker) incomplete() error {
	for layer, l := range s.seen {
		return fmt.Errorf("layer %d: found %d of the %d expert tensors (%d experts × %s)", layer, len(l), s.nExpert*len(s.kinds), s.nExpert, strings.Join(s.kinds, ", "))
	}
	return nil
}
