package convert

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/gguftool/gguftool/gguf"
)

// A rowSource yields the logical rows of an output tensor as float32, in
// output order: row r holds ne[0] = cols() elements. Transforms (expert
// stacking, Q/K permutation, transposes, splits) are expressed as the
// mapping from output rows to source elements, so no transform ever holds
// more than the rows being converted.
type rowSource interface {
	rows() int
	cols() int
	read(r0, n int, dst []float32) error
	// check reports a source that cannot be read (an unsupported dtype),
	// so that the plan fails before anything is written.
	check() error
}

// A rawSource yields rows of bytes already in the output type (MXFP4
// experts repacked from the HF layout).
type rawSource interface {
	rows() int
	rowBytes() int
	readRaw(r0, n int, dst []byte) error
}

// mappedRows reads rows of elements of one safetensors tensor: element k
// of output row r is source element base(r) + k*stride.
type mappedRows struct {
	t      *Tensor
	nrows  int
	ncols  int
	base   func(r int) int64
	stride int64
}

// plainRows views a tensor as rows of its last dimension.
func plainRows(t *Tensor) *mappedRows {
	cols := int64(1)
	if len(t.Shape) > 0 {
		cols = t.Shape[len(t.Shape)-1]
	}
	rows := int64(0)
	if cols > 0 {
		rows = t.NumElements() / cols
	}
	return &mappedRows{t: t, nrows: int(rows), ncols: int(cols), base: func(r int) int64 { return int64(r) * cols }, stride: 1}
}

func (m *mappedRows) rows() int { return m.nrows }

func (m *mappedRows) check() error {
	if !m.t.DType.Supported() {
		return fmt.Errorf("tensor %s in %s: dtype %s is not supported (supported: %s)", m.t.Name, m.t.File.Path, m.t.DType, supportedDTypes)
	}
	return nil
}
func (m *mappedRows) cols() int { return m.ncols }

func (m *mappedRows) read(r0, n int, dst []float32) error {
	t := m.t
	esz := int64(t.DType.Size())
	dec := decoder(t.DType)
	if dec == nil || esz == 0 {
		return fmt.Errorf("tensor %s: dtype %s is not supported (supported: %s)", t.Name, t.DType, supportedDTypes)
	}
	data := t.Bytes()
	lo, hi := int64(math.MaxInt64), int64(0)
	for i := 0; i < n; i++ {
		b := m.base(r0 + i)
		row := dst[i*m.ncols : (i+1)*m.ncols]
		last := b + int64(m.ncols-1)*m.stride
		if m.ncols == 0 {
			continue
		}
		if b < 0 || last >= int64(len(data))/esz {
			return fmt.Errorf("tensor %s: row %d reads outside the tensor (internal error)", t.Name, r0+i)
		}
		lo, hi = min(lo, b), max(hi, last+1)
		if m.stride == 1 {
			dec(row, data[b*esz:(last+1)*esz])
			continue
		}
		decodeStrided(t.DType, row, data, b, m.stride)
	}
	if lo < hi {
		t.release(lo*esz, hi*esz)
	}
	return nil
}

// decodeStrided converts elements base, base+stride, ... of data.
func decodeStrided(d DType, dst []float32, data []byte, base, stride int64) {
	le := binary.LittleEndian
	switch d {
	case BF16:
		for k := range dst {
			dst[k] = math.Float32frombits(uint32(le.Uint16(data[2*(base+int64(k)*stride):])) << 16)
		}
	case F16:
		for k := range dst {
			dst[k] = f16ToF32(le.Uint16(data[2*(base+int64(k)*stride):]))
		}
	case F32:
		for k := range dst {
			dst[k] = math.Float32frombits(le.Uint32(data[4*(base+int64(k)*stride):]))
		}
	default:
		dec := decoder(d)
		esz := int64(d.Size())
		for k := range dst {
			off := (base + int64(k)*stride) * esz
			dec(dst[k:k+1], data[off:off+esz])
		}
	}
}

// stackRows concatenates the rows of its parts: expert e of a stacked
// expert tensor is part e.
type stackRows struct {
	parts []rowSource
	n     int
}

func newStack(parts []rowSource) *stackRows {
	s := &stackRows{parts: parts}
	for _, p := range parts {
		s.n += p.rows()
	}
	return s
}

func (s *stackRows) rows() int { return s.n }

func (s *stackRows) check() error {
	for _, p := range s.parts {
		if err := p.check(); err != nil {
			return err
		}
	}
	return nil
}
func (s *stackRows) cols() int { return s.parts[0].cols() }

func (s *stackRows) read(r0, n int, dst []float32) error {
	cols := s.cols()
	for _, p := range s.parts {
		if n == 0 {
			break
		}
		pr := p.rows()
		if r0 >= pr {
			r0 -= pr
			continue
		}
		k := min(n, pr-r0)
		if err := p.read(r0, k, dst[:k*cols]); err != nil {
			return err
		}
		dst = dst[k*cols:]
		n -= k
		r0 = 0
	}
	return nil
}

// constRows is a tensor computed from config.json (phimoe rope factors).
type constRows struct {
	data []float32
	c    int
}

func (c *constRows) check() error { return nil }
func (c *constRows) rows() int    { return len(c.data) / max(c.c, 1) }
func (c *constRows) cols() int    { return c.c }
func (c *constRows) read(r0, n int, dst []float32) error {
	copy(dst, c.data[r0*c.c:(r0+n)*c.c])
	return nil
}

// mxfp4Rows repacks GPT-OSS MXFP4 experts from the HF layout (blocks
// [E, rows, groups, 16] with elements 2i/2i+1 in the low/high nibble of
// byte i, scales [E, rows, groups]) into ggml's block_mxfp4 rows
// (scale byte, then byte j holding elements j and j+16). Output row r
// comes from source row srcRow(r) (global over experts).
type mxfp4Rows struct {
	blocks, scales *Tensor
	n              int
	groups         int
	srcRow         func(r int) int
}

func (m *mxfp4Rows) rows() int     { return m.n }
func (m *mxfp4Rows) rowBytes() int { return m.groups * 17 }

func (m *mxfp4Rows) readRaw(r0, n int, dst []byte) error {
	bl, sc := m.blocks.Bytes(), m.scales.Bytes()
	g := m.groups
	lo, hi := math.MaxInt, 0
	for i := 0; i < n; i++ {
		s := m.srcRow(r0 + i)
		out := dst[i*g*17 : (i+1)*g*17]
		src := bl[s*g*16 : (s+1)*g*16]
		scales := sc[s*g : (s+1)*g]
		lo, hi = min(lo, s), max(hi, s+1)
		for j := 0; j < g; j++ {
			o := out[j*17 : j*17+17]
			b := src[j*16 : j*16+16]
			o[0] = scales[j]
			for k := 0; k < 8; k++ {
				x, y := b[k], b[k+8]
				o[1+2*k] = x&0x0f | (y&0x0f)<<4
				o[2+2*k] = x>>4 | y&0xf0
			}
		}
	}
	if lo < hi {
		m.blocks.release(int64(lo*g*16), int64(hi*g*16))
		m.scales.release(int64(lo*g), int64(hi*g))
	}
	return nil
}

// sameBits is the ggml type whose encoding equals the dtype's bytes.
func sameBits(d DType) gguf.Type {
	switch d {
	case F32:
		return gguf.TypeF32
	case F16:
		return gguf.TypeF16
	case BF16:
		return gguf.TypeBF16
	}
	return gguf.Type(math.MaxUint32)
}

// copyRaw copies rows whose source bytes already are the output encoding
// (bf16 → bf16, f16 → f16, f32 → f32 with contiguous rows), skipping the
// float32 round trip, which would give the same bytes. It returns false
// when the rows need converting.
func (m *mappedRows) copyRaw(r0, n int, typ gguf.Type, dst []byte) bool {
	if m.stride != 1 || sameBits(m.t.DType) != typ {
		return false
	}
	esz := int64(m.t.DType.Size())
	data := m.t.Bytes()
	rb := int64(m.ncols) * esz
	lo, hi := int64(math.MaxInt64), int64(0)
	for i := 0; i < n; i++ {
		b := m.base(r0+i) * esz
		copy(dst[int64(i)*rb:], data[b:b+rb])
		lo, hi = min(lo, b), max(hi, b+rb)
	}
	if lo < hi {
		m.t.release(lo, hi)
	}
	return true
}

func (s *stackRows) copyRaw(r0, n int, typ gguf.Type, dst []byte) bool {
	for _, p := range s.parts {
		if c, ok := p.(rawCopier); !ok || !c.canCopy(typ) {
			return false
		}
	}
	rb := len(dst) / max(n, 1)
	for _, p := range s.parts {
		if n == 0 {
			break
		}
		pr := p.rows()
		if r0 >= pr {
			r0 -= pr
			continue
		}
		k := min(n, pr-r0)
		p.(rawCopier).copyRaw(r0, k, typ, dst[:k*rb])
		dst = dst[k*rb:]
		n -= k
		r0 = 0
	}
	return true
}

// rawCopier is implemented by sources that can copy their bytes unchanged.
type rawCopier interface {
	canCopy(typ gguf.Type) bool
	copyRaw(r0, n int, typ gguf.Type, dst []byte) bool
}

func (m *mappedRows) canCopy(typ gguf.Type) bool {
	return m.stride == 1 && sameBits(m.t.DType) == typ
}

func (s *stackRows) canCopy(typ gguf.Type) bool {
	for _, p := range s.parts {
		if c, ok := p.(rawCopier); !ok || !c.canCopy(typ) {
			return false
		}
	}
	return true
}
