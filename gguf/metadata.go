package gguf

import (
	"fmt"
)

// KV is one metadata key and its value.
type KV struct {
	Key   string
	Value Value
}

// Metadata is the ordered key/value section of a GGUF file. Setting an
// existing key replaces its value in place, as gguf-py does; the key keeps
// the position of its first insertion.
type Metadata struct {
	kvs   []KV
	index map[string]int
}

// NewMetadata returns an empty metadata set.
func NewMetadata() *Metadata { return &Metadata{index: map[string]int{}} }

// Len is the number of keys.
func (m *Metadata) Len() int { return len(m.kvs) }

// KVs returns the pairs in file order. The slice must not be modified.
func (m *Metadata) KVs() []KV { return m.kvs }

// Keys returns the keys in file order.
func (m *Metadata) Keys() []string {
	keys := make([]string, len(m.kvs))
	for i, kv := range m.kvs {
		keys[i] = kv.Key
	}
	return keys
}

// Set adds key or replaces its value in place.
func (m *Metadata) Set(key string, v Value) {
	if m.index == nil {
		m.index = map[string]int{}
	}
	if i, ok := m.index[key]; ok {
		m.kvs[i].Value = v
		return
	}
	m.index[key] = len(m.kvs)
	m.kvs = append(m.kvs, KV{key, v})
}

// Delete removes key if present; later keys move up one position.
func (m *Metadata) Delete(key string) {
	i, ok := m.index[key]
	if !ok {
		return
	}
	m.kvs = append(m.kvs[:i], m.kvs[i+1:]...)
	delete(m.index, key)
	for j := i; j < len(m.kvs); j++ {
		m.index[m.kvs[j].Key] = j
	}
}

// Clone returns a copy that can be changed without affecting m. Values are
// shared: they are immutable by convention.
func (m *Metadata) Clone() *Metadata {
	c := NewMetadata()
	for _, kv := range m.kvs {
		c.Set(kv.Key, kv.Value)
	}
	return c
}

// Get returns the value of key.
func (m *Metadata) Get(key string) (Value, bool) {
	i, ok := m.index[key]
	if !ok {
		return Value{}, false
	}
	return m.kvs[i].Value, true
}

// Has reports whether key is present.
func (m *Metadata) Has(key string) bool {
	_, ok := m.index[key]
	return ok
}

// KeyError says that a metadata key is missing or has another type than the
// caller expected.
type KeyError struct {
	Key      string
	Expected string
	Found    string // "" when the key is missing
}

func (e *KeyError) Error() string {
	if e.Found == "" {
		return fmt.Sprintf("metadata key %q not found (expected %s)", e.Key, e.Expected)
	}
	return fmt.Sprintf("metadata key %q: expected %s, found %s", e.Key, e.Expected, e.Found)
}

func describe(v Value) string {
	if v.typ == ValueArray {
		return fmt.Sprintf("ARRAY[%s] of %d", v.elem, v.Len())
	}
	return v.typ.String()
}

func scalarOf[T any](m *Metadata, key string, vt ValueType) (T, error) {
	var zero T
	v, ok := m.Get(key)
	if !ok {
		return zero, &KeyError{Key: key, Expected: vt.String()}
	}
	x, ok := v.v.(T)
	if !ok || v.typ != vt {
		return zero, &KeyError{Key: key, Expected: vt.String(), Found: describe(v)}
	}
	return x, nil
}

// String returns the STRING value of key.
func (m *Metadata) String(key string) (string, error) { return scalarOf[string](m, key, ValueString) }

// Uint32 returns the UINT32 value of key.
func (m *Metadata) Uint32(key string) (uint32, error) { return scalarOf[uint32](m, key, ValueUint32) }

// Int32 returns the INT32 value of key.
func (m *Metadata) Int32(key string) (int32, error) { return scalarOf[int32](m, key, ValueInt32) }

// Uint64 returns the UINT64 value of key.
func (m *Metadata) Uint64(key string) (uint64, error) { return scalarOf[uint64](m, key, ValueUint64) }

// Float32 returns the FLOAT32 value of key.
func (m *Metadata) Float32(key string) (float32, error) {
	return scalarOf[float32](m, key, ValueFloat32)
}

// Bool returns the BOOL value of key.
func (m *Metadata) Bool(key string) (bool, error) { return scalarOf[bool](m, key, ValueBool) }

// Int returns an integer value of key of any integer type, as llama.cpp's
// get_key converts between integer widths.
func (m *Metadata) Int(key string) (int64, error) {
	v, ok := m.Get(key)
	if !ok {
		return 0, &KeyError{Key: key, Expected: "an integer"}
	}
	x, ok := v.Int()
	if !ok {
		return 0, &KeyError{Key: key, Expected: "an integer", Found: describe(v)}
	}
	return x, nil
}

// Float returns a FLOAT32 or FLOAT64 value of key.
func (m *Metadata) Float(key string) (float64, error) {
	v, ok := m.Get(key)
	if !ok {
		return 0, &KeyError{Key: key, Expected: "a float"}
	}
	x, ok := v.Float()
	if !ok {
		return 0, &KeyError{Key: key, Expected: "a float", Found: describe(v)}
	}
	return x, nil
}

// ArrayOf returns the elements of an array key whose elements have Go type T
// (for example ArrayOf[string](m, "tokenizer.ggml.tokens")).
func ArrayOf[T Element](m *Metadata, key string) ([]T, error) {
	want := "ARRAY[" + elemTypeOf(any([]T(nil))).String() + "]"
	v, ok := m.Get(key)
	if !ok {
		return nil, &KeyError{Key: key, Expected: want}
	}
	xs, ok := v.v.([]T)
	if !ok || v.typ != ValueArray {
		return nil, &KeyError{Key: key, Expected: want, Found: describe(v)}
	}
	return xs, nil
}

// Strings returns the ARRAY[STRING] value of key.
func (m *Metadata) Strings(key string) ([]string, error) { return ArrayOf[string](m, key) }

// Ints returns an array of any integer type, or a single integer repeated
// n times, as int64s; this is how llama.cpp reads per-layer keys such as
// head_count_kv that may be a scalar or an array.
func (m *Metadata) Ints(key string, n int) ([]int64, error) {
	v, ok := m.Get(key)
	if !ok {
		return nil, &KeyError{Key: key, Expected: "an integer or integer array"}
	}
	if x, ok := v.Int(); ok {
		out := make([]int64, n)
		for i := range out {
			out[i] = x
		}
		return out, nil
	}
	if v.typ == ValueArray {
		out := make([]int64, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			s := Value{typ: v.elem, v: v.Index(i)}
			x, ok := s.Int()
			if !ok {
				return nil, &KeyError{Key: key, Expected: "an integer array", Found: describe(v)}
			}
			out = append(out, x)
		}
		return out, nil
	}
	return nil, &KeyError{Key: key, Expected: "an integer or integer array", Found: describe(v)}
}
