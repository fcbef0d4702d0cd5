package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// Limits that keep a hostile header from making us allocate or recurse
// without bound. They match gguf.cpp where it has one.
const (
	maxStringLen  = 1 << 30 // gguf.cpp: 1 GiB
	maxArrayLen   = 1 << 30 // gguf.cpp: 2^30 elements
	maxArrayDepth = 16      // nested arrays (llama.cpp allows none)
)

// decoder reads GGUF's little-endian encoding from an in-memory file and
// turns every out-of-bounds read into a FormatError at the current offset.
type decoder struct {
	buf  []byte
	pos  int64
	path string
}

func (d *decoder) fail(at int64, format string, args ...any) error {
	return &FormatError{Path: d.path, Offset: at, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) remaining() int64 { return int64(len(d.buf)) - d.pos }

func (d *decoder) take(n int64, what string) ([]byte, error) {
	if n < 0 || n > d.remaining() {
		return nil, d.fail(d.pos, "truncated %s: need %d bytes, %d left in the file", what, n, d.remaining())
	}
	b := d.buf[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

func (d *decoder) u8(what string) (uint8, error) {
	b, err := d.take(1, what)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (d *decoder) u16(what string) (uint16, error) {
	b, err := d.take(2, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b), nil
}

func (d *decoder) u32(what string) (uint32, error) {
	b, err := d.take(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (d *decoder) u64(what string) (uint64, error) {
	b, err := d.take(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (d *decoder) str(what string) (string, error) {
	at := d.pos
	n, err := d.u64(what + " length")
	if err != nil {
		return "", err
	}
	if n > maxStringLen || int64(n) > d.remaining() {
		return "", d.fail(at, "%s length %d exceeds the %d bytes left in the file", what, n, d.remaining())
	}
	b, _ := d.take(int64(n), what)
	return string(b), nil
}

// value decodes a value of type t; depth counts array nesting.
func (d *decoder) value(t ValueType, key string, depth int) (Value, error) {
	what := fmt.Sprintf("value of %q", key)
	switch t {
	case ValueUint8:
		x, err := d.u8(what)
		return Uint8(x), err
	case ValueInt8:
		x, err := d.u8(what)
		return Int8(int8(x)), err
	case ValueUint16:
		x, err := d.u16(what)
		return Uint16(x), err
	case ValueInt16:
		x, err := d.u16(what)
		return Int16(int16(x)), err
	case ValueUint32:
		x, err := d.u32(what)
		return Uint32(x), err
	case ValueInt32:
		x, err := d.u32(what)
		return Int32(int32(x)), err
	case ValueFloat32:
		x, err := d.u32(what)
		return Float32(math.Float32frombits(x)), err
	case ValueBool:
		at := d.pos
		x, err := d.u8(what)
		if err == nil && x > 1 {
			return Value{}, d.fail(at, "%s: BOOL byte is %d, expected 0 or 1", what, x)
		}
		return Bool(x == 1), err
	case ValueString:
		s, err := d.str(what)
		return String(s), err
	case ValueUint64:
		x, err := d.u64(what)
		return Uint64(x), err
	case ValueInt64:
		x, err := d.u64(what)
		return Int64(int64(x)), err
	case ValueFloat64:
		x, err := d.u64(what)
		return Float64(math.Float64frombits(x)), err
	case ValueArray:
		return d.array(key, depth)
	}
	return Value{}, d.fail(d.pos-4, "%s: unknown value type id %d", what, uint32(t))
}

func (d *decoder) array(key string, depth int) (Value, error) {
	at := d.pos
	if depth >= maxArrayDepth {
		return Value{}, d.fail(at, "array of %q nested deeper than %d levels", key, maxArrayDepth)
	}
	et, err := d.u32(fmt.Sprintf("array element type of %q", key))
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	if !elem.Valid() {
		return Value{}, d.fail(at, "array of %q: unknown element type id %d", key, et)
	}
	nAt := d.pos
	n64, err := d.u64(fmt.Sprintf("array length of %q", key))
	if err != nil {
		return Value{}, err
	}
	// Every element takes at least minSize bytes, so a count the rest of
	// the file cannot hold is refused before anything is allocated.
	minSize := int64(elem.fixedSize())
	switch elem {
	case ValueString:
		minSize = 8
	case ValueArray:
		minSize = 12
	}
	if n64 > maxArrayLen || int64(n64) > d.remaining()/minSize {
		return Value{}, d.fail(nAt, "array of %q: %d %s elements do not fit in the %d bytes left in the file",
			key, n64, elem, d.remaining())
	}
	n := int(n64)
	if fs := elem.fixedSize(); fs > 0 {
		b, _ := d.take(int64(n*fs), "")
		return fixedArray(elem, b, n), nil
	}
	if elem == ValueString {
		return d.stringArray(key, n)
	}
	xs := make([]Value, n)
	for i := range xs {
		if xs[i], err = d.array(key, depth+1); err != nil {
			return Value{}, err
		}
	}
	return ArrayOfArrays(xs), nil
}

func fixedArray(elem ValueType, b []byte, n int) Value {
	le := binary.LittleEndian
	switch elem {
	case ValueUint8:
		return Array(append([]uint8(nil), b...))
	case ValueInt8:
		xs := make([]int8, n)
		for i := range xs {
			xs[i] = int8(b[i])
		}
		return Array(xs)
	case ValueBool:
		xs := make([]bool, n)
		for i := range xs {
			xs[i] = b[i] != 0
		}
		return Array(xs)
	case ValueUint16:
		xs := make([]uint16, n)
		for i := range xs {
			xs[i] = le.Uint16(b[2*i:])
		}
		return Array(xs)
	case ValueInt16:
		xs := make([]int16, n)
		for i := range xs {
			xs[i] = int16(le.Uint16(b[2*i:]))
		}
		return Array(xs)
	case ValueUint32:
		xs := make([]uint32, n)
		for i := range xs {
			xs[i] = le.Uint32(b[4*i:])
		}
		return Array(xs)
	case ValueInt32:
		xs := make([]int32, n)
		for i := range xs {
			xs[i] = int32(le.Uint32(b[4*i:]))
		}
		return Array(xs)
	case ValueFloat32:
		xs := make([]float32, n)
		for i := range xs {
			xs[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
		return Array(xs)
	case ValueUint64:
		xs := make([]uint64, n)
		for i := range xs {
			xs[i] = le.Uint64(b[8*i:])
		}
		return Array(xs)
	case ValueInt64:
		xs := make([]int64, n)
		for i := range xs {
			xs[i] = int64(le.Uint64(b[8*i:]))
		}
		return Array(xs)
	case ValueFloat64:
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
		return Array(xs)
	}
	panic("unreachable")
}

// stringArray decodes n strings. A first pass checks every length against
// the file; then all strings are copied into one allocation, so a 200k-token
// vocabulary costs two allocations rather than 200k.
func (d *decoder) stringArray(key string, n int) (Value, error) {
	start := d.pos
	total := int64(0)
	for i := 0; i < n; i++ {
		at := d.pos
		b, err := d.take(8, "")
		if err != nil {
			return Value{}, d.fail(at, "truncated length of element %d of %q", i, key)
		}
		l := binary.LittleEndian.Uint64(b)
		if l > maxStringLen || int64(l) > d.remaining() {
			return Value{}, d.fail(at, "element %d of %q: length %d exceeds the %d bytes left in the file", i, key, l, d.remaining())
		}
		d.pos += int64(l)
		total += int64(l)
	}
	d.pos = start
	backing := make([]byte, 0, total)
	xs := make([]string, n)
	for i := range xs {
		l := int64(binary.LittleEndian.Uint64(d.buf[d.pos:]))
		d.pos += 8
		lo := len(backing)
		backing = append(backing, d.buf[d.pos:d.pos+l]...)
		d.pos += l
		xs[i] = unsafe.String(unsafe.SliceData(backing[lo:]), int(l))
	}
	return Array(xs), nil
}
