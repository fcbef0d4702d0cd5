package convert

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// llama.cpp's SpecialVocab inspects tokenizer_config.json and config.json as
// loosely typed Python values: truthiness, == between a string and a dict,
// isinstance(x, int). These helpers give JSON values decoded with UseNumber
// the same semantics, so that odd configs take the same branches.

// pyTruthy is Python's bool(x) for a decoded JSON value.
func pyTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := x.Float64()
		return err != nil || f != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// pyEqual is Python's a == b for decoded JSON values: a string never equals a
// dict, 1 == 1.0 == True.
func pyEqual(a, b any) bool {
	if an, ok := pyNumber(a); ok {
		bn, ok := pyNumber(b)
		return ok && an == bn
	}
	if _, ok := pyNumber(b); ok {
		return false
	}
	return reflect.DeepEqual(a, b)
}

// pyIn is Python's `x in (ys...)`.
func pyIn(x any, ys ...any) bool {
	for _, y := range ys {
		if pyEqual(x, y) {
			return true
		}
	}
	return false
}

func pyNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return math.NaN(), true
		}
		return f, true
	case float64:
		return x, true
	}
	return 0, false
}

// pyInt reports whether v is a Python int after json.load (an integer literal,
// or a bool, which Python counts as an int) and returns it.
func pyInt(v any) (int64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case json.Number:
		s := string(x)
		if strings.ContainsAny(s, ".eE") {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			// Beyond int64: still an int to Python, and never a valid id.
			if strings.HasPrefix(s, "-") {
				return math.MinInt64, true
			}
			return math.MaxInt64, true
		}
		return n, true
	}
	return 0, false
}

// pyTypeName names the Python type a JSON value decodes to, for messages.
func pyTypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number:
		if _, ok := pyInt(x); ok {
			return "an integer"
		}
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return reflect.TypeOf(v).String()
}

// jsonObject returns v as an object, or nil when it is not one.
func tokObject(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// jsonList returns v as a list, or nil when it is not one.
func tokList(v any) []any {
	l, _ := v.([]any)
	return l
}
