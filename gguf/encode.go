package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// appendString appends a GGUF string (u64 length, bytes).
func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// appendValue appends the encoding of v without its type id.
func appendValue(b []byte, v Value) ([]byte, error) {
	le := binary.LittleEndian
	switch x := v.v.(type) {
	case uint8:
		return append(b, x), nil
	case int8:
		return append(b, uint8(x)), nil
	case uint16:
		return le.AppendUint16(b, x), nil
	case int16:
		return le.AppendUint16(b, uint16(x)), nil
	case uint32:
		return le.AppendUint32(b, x), nil
	case int32:
		return le.AppendUint32(b, uint32(x)), nil
	case float32:
		return le.AppendUint32(b, math.Float32bits(x)), nil
	case bool:
		if x {
			return append(b, 1), nil
		}
		return append(b, 0), nil
	case string:
		return appendString(b, x), nil
	case uint64:
		return le.AppendUint64(b, x), nil
	case int64:
		return le.AppendUint64(b, uint64(x)), nil
	case float64:
		return le.AppendUint64(b, math.Float64bits(x)), nil
	}
	if v.typ != ValueArray {
		return nil, fmt.Errorf("value of type %s holds %T", v.typ, v.v)
	}
	b = le.AppendUint32(b, uint32(v.elem))
	b = le.AppendUint64(b, uint64(v.Len()))
	switch xs := v.v.(type) {
	case []uint8:
		return append(b, xs...), nil
	case []Value:
		var err error
		for _, e := range xs {
			if e.typ != ValueArray {
				return nil, fmt.Errorf("nested array holds a %s", e.typ)
			}
			if b, err = appendValue(b, e); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	var err error
	for i := 0; i < v.Len(); i++ {
		if b, err = appendValue(b, Value{typ: v.elem, v: v.Index(i)}); err != nil {
			return nil, err
		}
	}
	return b, nil
}
