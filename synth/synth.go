package synth

import (
	"fmt"
	"io"

	"github.com/gguftool/gguftool/gguf"
)

// Options selects what Build makes.
type Options struct {
	Preset string
	Layers int    // 0: the preset's
	Vocab  int    // 0: the preset's (see Preset.WithVocab)
	Type   string // "": the preset's default (see Types)
	Seed   uint64 // PRNG seed; the same options and seed give the same file
}

// Model is a synthesized model: its header, ready to be written.
type Model struct {
	Preset   Preset
	Type     string
	Metadata *gguf.Metadata
	// Tensors in file order, with their data-relative offsets.
	Tensors    []gguf.TensorInfo
	Alignment  uint64
	DataOffset int64 // absolute offset of the data section
	Size       int64 // file size in bytes
	seed       uint64
}

// Build computes the header of the model described by o. It allocates only
// the metadata (the vocabulary) and the tensor infos, never tensor data, so
// planners can work on full-size geometries without writing them.
func Build(o Options) (*Model, error) {
	p, err := Lookup(o.Preset)
	if err != nil {
		return nil, err
	}
	if o.Layers != 0 {
		if p, err = p.WithLayers(o.Layers); err != nil {
			return nil, err
		}
	}
	if o.Vocab != 0 {
		if p, err = p.WithVocab(o.Vocab); err != nil {
			return nil, err
		}
	}
	typ := o.Type
	if typ == "" {
		typ = p.DefaultType
	}
	rc, err := parseRecipe(typ)
	if err != nil {
		return nil, err
	}
	raw, err := p.tensors()
	if err != nil {
		return nil, err
	}
	types := make([]gguf.Type, len(raw))
	hasMXFP4 := false
	for i, x := range raw {
		types[i] = rc.converterType(x)
		hasMXFP4 = hasMXFP4 || x.hasRaw
	}
	switch rc.quantize {
	case "q4_k_m":
		types = q4KM(raw, types, p.Layers, p.Experts)
	case "mxfp4_moe":
		types = mxfp4MoE(raw, types)
	}
	infos := make([]gguf.TensorInfo, len(raw))
	for i, x := range raw {
		infos[i] = gguf.TensorInfo{Name: x.name, Type: types[i], Dims: x.dims}
	}
	label := p.SizeLabel
	if label == "" || o.Layers != 0 || o.Vocab != 0 {
		label = sizeLabel(infos, p.Experts)
	}
	md := p.metadata(rc.fileType(hasMXFP4), label)
	if rc.quantize != "" {
		// llama-quantize re-sets these two keys, which moves them to the end.
		md.Delete(gguf.KeyQuantizationVersion)
		md.Delete(gguf.KeyFileType)
		md.Set(gguf.KeyQuantizationVersion, gguf.Uint32(2))
		md.Set(gguf.KeyFileType, gguf.Uint32(rc.fileType(hasMXFP4)))
	}
	laid, align, err := gguf.Layout(md, infos)
	if err != nil {
		return nil, fmt.Errorf("preset %s: %w", p.Name, err)
	}
	dataOff, err := gguf.HeaderSize(md, infos)
	if err != nil {
		return nil, err
	}
	size := dataOff
	if n := len(laid); n > 0 {
		last := laid[n-1]
		size += int64(last.Offset + last.Size())
	}
	return &Model{Preset: p, Type: rc.name, Metadata: md, Tensors: laid, Alignment: align,
		DataOffset: dataOff, Size: size, seed: o.Seed}, nil
}

// Header returns the model's header as the reader would parse it.
func (m *Model) Header() *gguf.Header {
	return &gguf.Header{Version: 3, Metadata: m.Metadata, Tensors: m.Tensors, Alignment: m.Alignment, DataOffset: m.DataOffset}
}

// chunkBytes is the unit of generation: large enough to amortize the
// channel hand-off, small enough that memory stays flat.
const chunkBytes = 4 << 20

// WriteTo streams the file to w: the header, then each tensor generated
// chunk by chunk by a goroutine while the previous chunk is written, so
// generation overlaps the disk. progress, if not nil, is called with the
// bytes of tensor data written so far.
func (m *Model) WriteTo(w io.Writer, progress func(done int64)) error {
	gw, err := gguf.NewWriter(w, m.Metadata, m.Tensors)
	if err != nil {
		return err
	}
	type chunk struct {
		buf  []byte
		last bool // last chunk of its tensor
		err  error
	}
	const nbuf = 3
	free := make(chan []byte, nbuf)
	for range nbuf {
		free <- make([]byte, chunkBytes+256)
	}
	full := make(chan chunk, nbuf)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(full)
		r := &rng{s: m.seed ^ 0x9e3779b97f4a7c15}
		for i := range m.Tensors {
			t := &m.Tensors[i]
			size := int64(t.Size())
			bs := int64(t.Type.TypeSize())
			step := chunkBytes / bs * bs
			f, err := newFiller(t.Type, specFor(t.Name, t.Dims, m.Preset.Layers))
			if err != nil {
				select {
				case full <- chunk{err: fmt.Errorf("tensor %s: %w", t.Name, err)}:
				case <-stop:
				}
				return
			}
			for done := int64(0); done < size; {
				n := min(step, size-done)
				var buf []byte
				select {
				case buf = <-free:
				case <-stop:
					return
				}
				buf = buf[:n]
				err := f.fill(r, buf)
				if err != nil {
					err = fmt.Errorf("tensor %s: %w", t.Name, err)
				}
				done += n
				select {
				case full <- chunk{buf: buf, last: done >= size, err: err}:
				case <-stop:
					return
				}
				if err != nil {
					return
				}
			}
		}
	}()
	var written int64
	for i := range m.Tensors {
		t := &m.Tensors[i]
		if err := gw.BeginTensor(t.Name); err != nil {
			return err
		}
		for t.Size() > 0 {
			c, ok := <-full
			if !ok {
				return fmt.Errorf("tensor %s: generator stopped early", t.Name)
			}
			if c.err != nil {
				return c.err
			}
			if _, err := gw.Write(c.buf); err != nil {
				return fmt.Errorf("tensor %s: %w", t.Name, err)
			}
			written += int64(len(c.buf))
			free <- c.buf[:cap(c.buf)]
			if progress != nil {
				progress(written)
			}
			if c.last {
				break
			}
		}
		if err := gw.EndTensor(); err != nil {
			return err
		}
	}
	return gw.Close()
}
