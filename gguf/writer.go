package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// Writer streams a GGUF v3 file: the header, metadata and tensor infos
// (with offsets computed up front) are written by NewWriter, then each
// tensor's data in order. Every byte count is checked; a short or long
// tensor is an error, and Close fails if a tensor was never written.
//
// Key order is the Metadata's order and tensor order the order given, so
// a writer fed llama.cpp's metadata and tensors reproduces its file byte
// for byte.
type Writer struct {
	w       *bufio.Writer
	tensors []TensorInfo
	align   uint64
	pos     uint64 // bytes written so far

	next    int    // index of the next tensor to write
	inWrite bool   // between BeginTensor and EndTensor
	written uint64 // bytes of the current tensor written
}

// HeaderSize returns the absolute offset at which the tensor data of a file
// with this metadata and these tensors would start.
func HeaderSize(md *Metadata, tensors []TensorInfo) (int64, error) {
	b, align, _, err := encodeHeader(md, tensors)
	if err != nil {
		return 0, err
	}
	return int64(Pad(uint64(len(b)), align)), nil
}

// Layout returns the tensors with their data offsets as a writer would lay
// them out, and the alignment used.
func Layout(md *Metadata, tensors []TensorInfo) ([]TensorInfo, uint64, error) {
	_, align, out, err := encodeHeader(md, tensors)
	return out, align, err
}

// NewWriter validates the tensors, computes their offsets and writes
// everything up to the data section.
func NewWriter(w io.Writer, md *Metadata, tensors []TensorInfo) (*Writer, error) {
	hdr, align, laid, err := encodeHeader(md, tensors)
	if err != nil {
		return nil, err
	}
	gw := &Writer{w: bufio.NewWriterSize(w, 1<<20), tensors: laid, align: align}
	if err := gw.write(hdr); err != nil {
		return nil, err
	}
	if err := gw.pad(); err != nil {
		return nil, err
	}
	return gw, nil
}

func encodeHeader(md *Metadata, tensors []TensorInfo) ([]byte, uint64, []TensorInfo, error) {
	align := uint64(DefaultAlignment)
	if v, ok := md.Get(KeyAlignment); ok {
		a, ok := v.v.(uint32)
		if !ok || a == 0 || a&(a-1) != 0 {
			return nil, 0, nil, fmt.Errorf("%s must be a UINT32 power of two, got %s %v", KeyAlignment, describe(v), v.v)
		}
		align = uint64(a)
	}
	le := binary.LittleEndian
	b := []byte(Magic)
	b = le.AppendUint32(b, 3)
	b = le.AppendUint64(b, uint64(len(tensors)))
	b = le.AppendUint64(b, uint64(md.Len()))
	var err error
	for _, kv := range md.KVs() {
		if kv.Key == "" {
			return nil, 0, nil, fmt.Errorf("empty metadata key")
		}
		b = appendString(b, kv.Key)
		b = le.AppendUint32(b, uint32(kv.Value.typ))
		if b, err = appendValue(b, kv.Value); err != nil {
			return nil, 0, nil, fmt.Errorf("metadata key %q: %w", kv.Key, err)
		}
	}
	laid := make([]TensorInfo, len(tensors))
	names := make(map[string]bool, len(tensors))
	var off uint64
	for i, t := range tensors {
		if len(t.Name) == 0 || len(t.Name) > MaxNameLen {
			return nil, 0, nil, fmt.Errorf("tensor %d: name %q must be 1 to %d bytes", i, t.Name, MaxNameLen)
		}
		if names[t.Name] {
			return nil, 0, nil, fmt.Errorf("duplicate tensor name %q", t.Name)
		}
		names[t.Name] = true
		if len(t.Dims) > MaxDims {
			return nil, 0, nil, fmt.Errorf("tensor %q has %d dimensions, at most %d allowed", t.Name, len(t.Dims), MaxDims)
		}
		size, err := tensorSize(t.Type, t.Dims)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		t.Dims = append([]uint64(nil), t.Dims...)
		t.Offset = off
		t.Shard = 0
		laid[i] = t
		off += Pad(size, align)
		b = appendString(b, t.Name)
		b = le.AppendUint32(b, uint32(len(t.Dims)))
		for _, d := range t.Dims {
			b = le.AppendUint64(b, d)
		}
		b = le.AppendUint32(b, uint32(t.Type))
		b = le.AppendUint64(b, t.Offset)
	}
	return b, align, laid, nil
}

// Tensors returns the tensors with their offsets, in write order.
func (w *Writer) Tensors() []TensorInfo { return w.tensors }

func (w *Writer) write(b []byte) error {
	n, err := w.w.Write(b)
	w.pos += uint64(n)
	return err
}

var zeros [256]byte

func (w *Writer) pad() error {
	for n := Pad(w.pos, w.align) - w.pos; n > 0; {
		k := min(n, uint64(len(zeros)))
		if err := w.write(zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// BeginTensor starts the data of the next tensor, which must be name. Write
// exactly its size in bytes, then call EndTensor.
func (w *Writer) BeginTensor(name string) error {
	if w.inWrite {
		return fmt.Errorf("gguf writer: BeginTensor(%q) before EndTensor of %q", name, w.tensors[w.next].Name)
	}
	if w.next >= len(w.tensors) {
		return fmt.Errorf("gguf writer: tensor %q: all %d tensors already written", name, len(w.tensors))
	}
	if want := w.tensors[w.next].Name; want != name {
		return fmt.Errorf("gguf writer: tensor %q written out of order; expected %q", name, want)
	}
	w.inWrite, w.written = true, 0
	return nil
}

// Write appends bytes to the current tensor; it refuses bytes beyond the
// tensor's size.
func (w *Writer) Write(p []byte) (int, error) {
	if !w.inWrite {
		return 0, fmt.Errorf("gguf writer: Write outside BeginTensor/EndTensor")
	}
	t := &w.tensors[w.next]
	if left := t.Size() - w.written; uint64(len(p)) > left {
		return 0, fmt.Errorf("gguf writer: tensor %q: %d bytes written past its size of %d", t.Name, w.written+uint64(len(p))-t.Size(), t.Size())
	}
	n, err := w.w.Write(p)
	w.written += uint64(n)
	w.pos += uint64(n)
	return n, err
}

// EndTensor checks that the tensor received all its bytes and pads it.
func (w *Writer) EndTensor() error {
	if !w.inWrite {
		return fmt.Errorf("gguf writer: EndTensor without BeginTensor")
	}
	t := &w.tensors[w.next]
	if w.written != t.Size() {
		return fmt.Errorf("gguf writer: tensor %q: got %d bytes, expected %d", t.Name, w.written, t.Size())
	}
	w.inWrite = false
	w.next++
	return w.pad()
}

// WriteTensor writes the next tensor's data from r, which must hold exactly
// the tensor's size in bytes.
func (w *Writer) WriteTensor(name string, r io.Reader) error {
	if err := w.BeginTensor(name); err != nil {
		return err
	}
	t := &w.tensors[w.next]
	n, err := io.Copy(w, io.LimitReader(r, int64(t.Size())))
	if err != nil {
		return fmt.Errorf("tensor %q: %w", name, err)
	}
	if uint64(n) != t.Size() {
		return fmt.Errorf("gguf writer: tensor %q: source ended after %d bytes, expected %d", name, n, t.Size())
	}
	var one [1]byte
	if k, _ := r.Read(one[:]); k > 0 {
		return fmt.Errorf("gguf writer: tensor %q: source holds more than the expected %d bytes", name, t.Size())
	}
	return w.EndTensor()
}

// WriteTensorBytes writes the next tensor's data from b.
func (w *Writer) WriteTensorBytes(name string, b []byte) error {
	if err := w.BeginTensor(name); err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	return w.EndTensor()
}

// Close checks that every tensor was written and flushes. It does not close
// the underlying writer.
func (w *Writer) Close() error {
	if w.inWrite {
		return fmt.Errorf("gguf writer: tensor %q not finished", w.tensors[w.next].Name)
	}
	if w.next != len(w.tensors) {
		return fmt.Errorf("gguf writer: %d of %d tensors written; next missing: %q", w.next, len(w.tensors), w.tensors[w.next].Name)
	}
	return w.w.Flush()
}
