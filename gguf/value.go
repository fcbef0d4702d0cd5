package gguf

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// ValueType is the type id of a metadata value.
type ValueType uint32

// The 13 metadata value types of GGUF.
const (
	ValueUint8   ValueType = 0
	ValueInt8    ValueType = 1
	ValueUint16  ValueType = 2
	ValueInt16   ValueType = 3
	ValueUint32  ValueType = 4
	ValueInt32   ValueType = 5
	ValueFloat32 ValueType = 6
	ValueBool    ValueType = 7
	ValueString  ValueType = 8
	ValueArray   ValueType = 9
	ValueUint64  ValueType = 10
	ValueInt64   ValueType = 11
	ValueFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32",
	"FLOAT32", "BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"}

// String returns the GGUF name of the value type ("UINT32", "ARRAY"...).
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("valuetype(%d)", uint32(t))
}

// Valid reports whether t is one of the 13 value types.
func (t ValueType) Valid() bool { return t <= ValueFloat64 }

// fixedSize is the encoded size of a scalar of type t, 0 for strings and arrays.
func (t ValueType) fixedSize() int {
	switch t {
	case ValueUint8, ValueInt8, ValueBool:
		return 1
	case ValueUint16, ValueInt16:
		return 2
	case ValueUint32, ValueInt32, ValueFloat32:
		return 4
	case ValueUint64, ValueInt64, ValueFloat64:
		return 8
	}
	return 0
}

// Value is one typed metadata value. Scalars hold the Go type of their GGUF
// type (uint8 ... float64, bool, string); arrays hold a slice of it, or
// []Value for arrays of arrays.
type Value struct {
	typ  ValueType
	elem ValueType // element type, for arrays
	v    any
}

// Type is the value's GGUF type.
func (v Value) Type() ValueType { return v.typ }

// ElemType is the element type of an array value.
func (v Value) ElemType() ValueType { return v.elem }

// Any returns the Go value: a scalar, a typed slice, or []Value.
func (v Value) Any() any { return v.v }

// Scalar constructors.
func Uint8(x uint8) Value     { return Value{typ: ValueUint8, v: x} }
func Int8(x int8) Value       { return Value{typ: ValueInt8, v: x} }
func Uint16(x uint16) Value   { return Value{typ: ValueUint16, v: x} }
func Int16(x int16) Value     { return Value{typ: ValueInt16, v: x} }
func Uint32(x uint32) Value   { return Value{typ: ValueUint32, v: x} }
func Int32(x int32) Value     { return Value{typ: ValueInt32, v: x} }
func Float32(x float32) Value { return Value{typ: ValueFloat32, v: x} }
func Bool(x bool) Value       { return Value{typ: ValueBool, v: x} }
func String(x string) Value   { return Value{typ: ValueString, v: x} }
func Uint64(x uint64) Value   { return Value{typ: ValueUint64, v: x} }
func Int64(x int64) Value     { return Value{typ: ValueInt64, v: x} }
func Float64(x float64) Value { return Value{typ: ValueFloat64, v: x} }

// Element is a Go type that can be the element of a GGUF array.
type Element interface {
	uint8 | int8 | uint16 | int16 | uint32 | int32 | float32 | bool | string |
		uint64 | int64 | float64
}

// Array returns an array value of xs; the element type follows the Go type.
func Array[T Element](xs []T) Value {
	return Value{typ: ValueArray, elem: elemTypeOf(any(xs)), v: xs}
}

// ArrayOfArrays returns a nested array. GGUF allows it; llama.cpp refuses it.
func ArrayOfArrays(xs []Value) Value {
	return Value{typ: ValueArray, elem: ValueArray, v: xs}
}

func elemTypeOf(xs any) ValueType {
	switch xs.(type) {
	case []uint8:
		return ValueUint8
	case []int8:
		return ValueInt8
	case []uint16:
		return ValueUint16
	case []int16:
		return ValueInt16
	case []uint32:
		return ValueUint32
	case []int32:
		return ValueInt32
	case []float32:
		return ValueFloat32
	case []bool:
		return ValueBool
	case []string:
		return ValueString
	case []uint64:
		return ValueUint64
	case []int64:
		return ValueInt64
	case []float64:
		return ValueFloat64
	case []Value:
		return ValueArray
	}
	panic(fmt.Sprintf("gguf: %T is not an array element slice", xs))
}

// Len is the number of elements of an array value, 0 for a scalar.
func (v Value) Len() int {
	if v.typ != ValueArray {
		return 0
	}
	switch xs := v.v.(type) {
	case []uint8:
		return len(xs)
	case []int8:
		return len(xs)
	case []uint16:
		return len(xs)
	case []int16:
		return len(xs)
	case []uint32:
		return len(xs)
	case []int32:
		return len(xs)
	case []float32:
		return len(xs)
	case []bool:
		return len(xs)
	case []string:
		return len(xs)
	case []uint64:
		return len(xs)
	case []int64:
		return len(xs)
	case []float64:
		return len(xs)
	case []Value:
		return len(xs)
	}
	return 0
}

// Int returns an integer scalar of any width as int64, converting as
// llama.cpp's get_key does; ok is false for non-integers and for uint64
// values above math.MaxInt64.
func (v Value) Int() (int64, bool) {
	switch x := v.v.(type) {
	case uint8:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

// Float returns a float32 or float64 scalar as float64.
func (v Value) Float() (float64, bool) {
	switch x := v.v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// Elements returns an array's elements as []any (nested arrays as []any too);
// it is meant for printing, not for hot paths.
func (v Value) Elements() []any {
	if v.typ != ValueArray {
		return nil
	}
	n := v.Len()
	out := make([]any, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, v.Index(i))
	}
	return out
}

// Index returns element i of an array as a Go value (a nested array as []any).
func (v Value) Index(i int) any {
	switch xs := v.v.(type) {
	case []uint8:
		return xs[i]
	case []int8:
		return xs[i]
	case []uint16:
		return xs[i]
	case []int16:
		return xs[i]
	case []uint32:
		return xs[i]
	case []int32:
		return xs[i]
	case []float32:
		return xs[i]
	case []bool:
		return xs[i]
	case []string:
		return xs[i]
	case []uint64:
		return xs[i]
	case []int64:
		return xs[i]
	case []float64:
		return xs[i]
	case []Value:
		return xs[i].Elements()
	}
	return nil
}

// MarshalJSON writes scalars as JSON scalars and arrays as JSON arrays.
// Non-finite floats, which JSON cannot hold, become the strings "NaN",
// "+Inf" and "-Inf".
func (v Value) MarshalJSON() ([]byte, error) {
	if v.typ == ValueArray {
		return json.Marshal(jsonSafe(v.Elements()))
	}
	return json.Marshal(jsonSafe(v.v))
}

// JSONSafe converts non-finite floats in x (a scalar or []any) to strings
// so that encoding/json accepts it, and prints float32s at their precision.
func JSONSafe(x []any) []any { return jsonSafe(x).([]any) }

func jsonSafe(x any) any {
	switch y := x.(type) {
	case float32:
		// Shortest text that reads back as the same float32.
		if f, ok := jsonFloat(float64(y)).(float64); ok {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 32))
		}
		return jsonFloat(float64(y))
	case float64:
		return jsonFloat(y)
	case []any:
		for i := range y {
			y[i] = jsonSafe(y[i])
		}
		return y
	}
	return x
}

func jsonFloat(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return f
}
