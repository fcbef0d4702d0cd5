package gguf

import (
	"fmt"
	"math/bits"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// Header is everything in a GGUF file before the tensor data.
type Header struct {
	Version    uint32
	Metadata   *Metadata
	Tensors    []TensorInfo
	Alignment  uint64
	DataOffset int64 // absolute offset of the data section
}

// ParseHeader decodes and validates the header of a GGUF file held in buf
// (usually memory-mapped). It applies llama.cpp's checks plus bounds checks
// against len(buf): every tensor's data must lie inside buf. path only
// names the file in errors.
func ParseHeader(buf []byte, path string) (*Header, error) {
	d := &decoder{buf: buf, path: path}
	magic, err := d.take(4, "magic")
	if err != nil {
		return nil, err
	}
	if string(magic) != Magic {
		return nil, d.fail(0, "bad magic %q, expected %q: not a GGUF file", magic, Magic)
	}
	version, err := d.u32("version")
	if err != nil {
		return nil, err
	}
	switch {
	case version&0xFFFF == 0 && version != 0:
		return nil, d.fail(4, "version %#x looks byte-swapped: big-endian GGUF files are not supported", version)
	case version == 1:
		return nil, d.fail(4, "GGUF version 1 is not supported (only 2 and 3)")
	case version != 2 && version != 3:
		return nil, d.fail(4, "unknown GGUF version %d (supported: 2, 3)", version)
	}
	nTensors, err := d.u64("tensor count")
	if err != nil {
		return nil, err
	}
	nKV, err := d.u64("metadata count")
	if err != nil {
		return nil, err
	}
	// A key/value pair takes at least 13 bytes (length, one key byte,
	// type) and a tensor info at least 29; counts the file cannot hold
	// are refused before anything is allocated.
	if nKV > uint64(d.remaining()/13) {
		return nil, d.fail(16, "metadata count %d cannot fit in the %d bytes left in the file", nKV, d.remaining())
	}
	h := &Header{Version: version, Metadata: NewMetadata(), Alignment: DefaultAlignment}
	for i := uint64(0); i < nKV; i++ {
		at := d.pos
		key, err := d.str(fmt.Sprintf("key of metadata pair %d", i))
		if err != nil {
			return nil, err
		}
		if key == "" {
			return nil, d.fail(at, "metadata pair %d has an empty key", i)
		}
		if h.Metadata.Has(key) {
			return nil, d.fail(at, "duplicate metadata key %q", key)
		}
		tAt := d.pos
		t, err := d.u32(fmt.Sprintf("value type of %q", key))
		if err != nil {
			return nil, err
		}
		if !ValueType(t).Valid() {
			return nil, d.fail(tAt, "metadata key %q has unknown value type id %d", key, t)
		}
		v, err := d.value(ValueType(t), key, 0)
		if err != nil {
			return nil, err
		}
		if key == KeyAlignment {
			a, ok := v.v.(uint32)
			if !ok {
				return nil, d.fail(at, "%s must be UINT32, found %s", KeyAlignment, describe(v))
			}
			if a == 0 || a&(a-1) != 0 {
				return nil, d.fail(at, "%s = %d is not a power of two", KeyAlignment, a)
			}
			h.Alignment = uint64(a)
		}
		h.Metadata.Set(key, v)
	}
	if nTensors > uint64(d.remaining()/29) {
		return nil, d.fail(8, "tensor count %d cannot fit in the %d bytes left in the file", nTensors, d.remaining())
	}
	h.Tensors = make([]TensorInfo, 0, nTensors)
	names := make(map[string]bool, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		ti, err := d.tensorInfo(i, names)
		if err != nil {
			return nil, err
		}
		h.Tensors = append(h.Tensors, ti)
	}
	h.DataOffset = int64(Pad(uint64(d.pos), h.Alignment))
	if h.DataOffset > int64(len(buf)) {
		return nil, d.fail(d.pos, "truncated: the data section would start at byte %d, past the end of the file (%d bytes)",
			h.DataOffset, len(buf))
	}
	if err := h.checkOffsets(d); err != nil {
		return nil, err
	}
	return h, nil
}

func (d *decoder) tensorInfo(i uint64, names map[string]bool) (TensorInfo, error) {
	at := d.pos
	name, err := d.str(fmt.Sprintf("name of tensor %d", i))
	if err != nil {
		return TensorInfo{}, err
	}
	if len(name) > MaxNameLen {
		return TensorInfo{}, d.fail(at, "tensor %d name is %d bytes, longer than %d", i, len(name), MaxNameLen)
	}
	if names[name] {
		return TensorInfo{}, d.fail(at, "duplicate tensor name %q", name)
	}
	names[name] = true
	nAt := d.pos
	nDims, err := d.u32(fmt.Sprintf("n_dims of tensor %q", name))
	if err != nil {
		return TensorInfo{}, err
	}
	if nDims > MaxDims {
		return TensorInfo{}, d.fail(nAt, "tensor %q has %d dimensions, at most %d allowed", name, nDims, MaxDims)
	}
	ti := TensorInfo{Name: name, Dims: make([]uint64, nDims)}
	for j := range ti.Dims {
		if ti.Dims[j], err = d.u64(fmt.Sprintf("ne[%d] of tensor %q", j, name)); err != nil {
			return TensorInfo{}, err
		}
	}
	tAt := d.pos
	t, err := d.u32(fmt.Sprintf("type of tensor %q", name))
	if err != nil {
		return TensorInfo{}, err
	}
	ti.Type = Type(t)
	if !ti.Type.Valid() {
		return TensorInfo{}, d.fail(tAt, "tensor %q has unknown ggml type id %d", name, t)
	}
	if _, err := tensorSize(ti.Type, ti.Dims); err != nil {
		return TensorInfo{}, d.fail(nAt, "tensor %q: %v", name, err)
	}
	if ti.Offset, err = d.u64(fmt.Sprintf("data offset of tensor %q", name)); err != nil {
		return TensorInfo{}, err
	}
	return ti, nil
}

// checkOffsets applies llama.cpp's rule that tensor data is laid out in
// tensor-info order, each tensor at the padded end of the previous one, and
// checks that all of it lies inside the file.
func (h *Header) checkOffsets(d *decoder) error {
	var want uint64
	dataLen := uint64(int64(len(d.buf)) - h.DataOffset)
	for i := range h.Tensors {
		t := &h.Tensors[i]
		size := t.Size()
		switch {
		case t.Offset%h.Alignment != 0:
			return d.fail(h.DataOffset, "tensor %q: data offset %d is not aligned to %d", t.Name, t.Offset, h.Alignment)
		case t.Offset < want:
			return d.fail(h.DataOffset, "tensor %q: data offset %d overlaps the previous tensor, which ends at %d",
				t.Name, t.Offset, want)
		case t.Offset != want:
			return d.fail(h.DataOffset, "tensor %q: data offset %d leaves a gap; expected %d (tensors must follow each other in order)",
				t.Name, t.Offset, want)
		}
		end, carry := bits.Add64(t.Offset, size, 0)
		if carry != 0 || end > dataLen {
			return d.fail(h.DataOffset+int64(min(t.Offset, dataLen)),
				"tensor %q: data [%d, +%d) extends past the end of the file (data section holds %d bytes)",
				t.Name, t.Offset, size, dataLen)
		}
		want = Pad(end, h.Alignment)
	}
	return nil
}

// Well-known keys.
const (
	KeyAlignment           = "general.alignment"
	KeyArchitecture        = "general.architecture"
	KeySplitNo             = "split.no"
	KeySplitCount          = "split.count"
	KeySplitTensorsCount   = "split.tensors.count"
	KeyFileType            = "general.file_type"
	KeyQuantizationVersion = "general.quantization_version"
)
