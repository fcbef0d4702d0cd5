package runtime

import (
	"fmt"
	"slices"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/runtime/kernels"
)

// Model is a loaded GGUF model ready to run: hyperparameters, weights bound
// to devices, and the graph of its architecture.
type Model struct {
	File   *gguf.File
	Arch   string
	NVocab int
	NEmbd  int
	NLayer int
	// ContextLength is the trained context (GGUF {arch}.context_length).
	ContextLength int

	tensors  map[string]*Tensor
	backends map[Device]Backend
	g        graph
}

// graph is one architecture's forward pass.
type graph interface {
	// kvWidths gives, per layer, the floats cached per position for keys and
	// for values (0 when values are read from the key rows, as in MLA).
	kvWidths() (k, v []int)
	// forward runs n tokens at positions pos0.. through every layer, appending
	// their keys/values to the cache, and returns the final hidden states
	// (n rows of NEmbd, before the output norm).
	forward(e *exec, s *Session, tokens []int32, pos0 int) []float32
	// output applies the output norm and head to rows of hidden states.
	output(e *exec, logits, h []float32, n int)
}

// Options configure Load.
type Options struct {
	Placement Placement
	// Backends for devices other than the CPU (the CPU backend is built in).
	Backends []Backend
}

// archLoaders maps general.architecture to the graph constructor.
var archLoaders = map[string]func(l *loader) (graph, error){
	"gpt-oss":   loadGPTOSS,
	"phimoe":    loadPhiMoE,
	"deepseek":  loadDeepSeek,
	"deepseek2": loadDeepSeek2,
}

// Architectures lists the architectures the runtime can run.
func Architectures() []string {
	var a []string
	for k := range archLoaders {
		a = append(a, k)
	}
	slices.Sort(a)
	return a
}

// Load binds the tensors of f to devices and builds the graph of its
// architecture. f must stay open while the model is used.
func Load(f *gguf.File, opts Options) (*Model, error) {
	md := f.Metadata
	arch, err := md.String(gguf.KeyArchitecture)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path(), err)
	}
	mk, ok := archLoaders[arch]
	if !ok {
		return nil, fmt.Errorf("%s: architecture %q is not supported by the runtime (supported: %v)", f.Path(), arch, Architectures())
	}
	m := &Model{File: f, Arch: arch, tensors: map[string]*Tensor{}, backends: map[Device]Backend{CPUDevice: cpuBackend{}}}
	for _, b := range opts.Backends {
		m.backends[b.Device()] = b
	}
	for i := range f.Tensors {
		info := &f.Tensors[i]
		t, err := newTensor(f, info)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path(), err)
		}
		bindDevices(t, opts.Placement)
		m.tensors[t.Name] = t
	}
	l := &loader{f: f, md: md, arch: arch, m: m}
	m.NEmbd = l.pos("embedding_length")
	m.NLayer = l.pos("block_count")
	last := -1
	for i := range f.Tensors {
		// A tensor of a later layer means block_count is wrong; running the
		// first layers only would give plausible but wrong output.
		ly := f.Tensors[i].Layer()
		if ly >= m.NLayer && l.err == nil {
			l.fail("tensor %s is in layer %d, but metadata key %q is %d", f.Tensors[i].Name, ly, arch+".block_count", m.NLayer)
		}
		last = max(last, ly)
	}
	if last+1 < m.NLayer && l.err == nil {
		// Checked here, not by each layer's missing tensors: a block_count of
		// 4 billion would otherwise build 4 billion layers first.
		l.fail("metadata key %q is %d, but the tensors stop at layer %d", arch+".block_count", m.NLayer, last)
	}
	m.ContextLength = l.uOpt("context_length", 4096)
	if emb := l.tensor("token_embd.weight", m.NEmbd, -1); emb != nil {
		m.NVocab = emb.Rows()
	}
	if l.err != nil {
		return nil, l.err
	}
	g, err := mk(l)
	if err == nil {
		err = l.err
	}
	if err != nil {
		return nil, err
	}
	m.g = g
	for _, t := range m.tensors {
		devs := []Device{t.Device}
		if t.ExpertDevices != nil {
			devs = t.ExpertDevices
		}
		seen := map[Device]bool{}
		for _, d := range devs {
			if seen[d] {
				continue
			}
			seen[d] = true
			b, ok := m.backends[d]
			if !ok {
				return nil, fmt.Errorf("%s: tensor %s is placed on %s but no backend for that device is available (the CPU runtime has none; GPU execution needs the CUDA backend)", f.Path(), t.Name, d)
			}
			if err := b.Upload(t); err != nil {
				return nil, fmt.Errorf("%s: uploading %s to %s: %w", f.Path(), t.Name, d, err)
			}
		}
	}
	return m, nil
}

// Tensor returns a weight by GGUF name.
func (m *Model) Tensor(name string) (*Tensor, bool) {
	t, ok := m.tensors[name]
	return t, ok
}

// exec carries the first error of a forward pass so that graph code can call
// ops in sequence and check once (ops after a failure do nothing).
type exec struct {
	m   *Model
	err error
	// onRoute, if set, sees every routing decision: the chosen expert ids of
	// all tokens of a call (nUsed per token) in one MoE layer.
	onRoute func(layer, nExpert, nUsed int, ids []int)
}

// mm is dst = t·x for n tokens, on t's device.
func (e *exec) mm(dst []float32, t *Tensor, x []float32, n int) {
	e.mmRows(dst, t, 0, t.Rows(), x, n)
}

// mmRows is mm with rows [r0, r1) of t (one expert of a stacked tensor).
func (e *exec) mmRows(dst []float32, t *Tensor, r0, r1 int, x []float32, n int) {
	if e.err != nil {
		return
	}
	d := t.DeviceOf(r0)
	if err := e.m.backends[d].MatMul(dst, t, r0, r1, x, n); err != nil {
		e.err = fmt.Errorf("%s on %s: %w", t.Name, d, err)
	}
}

// embed writes the embedding rows of tokens into h (n rows of NEmbd).
func (e *exec) embed(h []float32, tokens []int32) {
	emb := e.m.tensors["token_embd.weight"].Mat()
	for i, id := range tokens {
		if id < 0 || int(id) >= e.m.NVocab {
			e.err = fmt.Errorf("token id %d out of range [0, %d)", id, e.m.NVocab)
			return
		}
		emb.DequantizeRows(h[i*e.m.NEmbd:(i+1)*e.m.NEmbd], int(id), int(id)+1)
	}
}

// addBias adds b to each of the n rows of x.
func addBias(x, b []float32, n int) {
	if b == nil {
		return
	}
	w := len(b)
	for t := 0; t < n; t++ {
		kernels.Add(x[t*w:(t+1)*w], b)
	}
}

// DecodeBytesPerToken is the number of weight bytes one decoded token reads:
// every tensor whole, except one row of the token embedding and, of each
// stacked expert tensor, the experts_used experts a token is routed to.
func (m *Model) DecodeBytesPerToken() int64 {
	nUsed, _ := m.File.Metadata.Int(m.Arch + ".expert_used_count")
	_, hasOutput := m.tensors["output.weight"]
	var total int64
	for _, t := range m.tensors {
		size := int64(t.Info.Size())
		switch {
		case t.Name == "token_embd.weight" && hasOutput: // else it is also the output head
			total += size / int64(max(m.NVocab, 1))
		case t.Info.IsExperts() && len(t.Info.Dims) >= 2:
			e := int64(t.Info.Dims[len(t.Info.Dims)-1])
			total += size / e * min(nUsed, e)
		default:
			total += size
		}
	}
	return total
}
