package jinja

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Values are Go values: nil (None), bool, int64, float64, string, []any
// (lists and tuples), *Dict, *Namespace, Undefined, and callables.

// Undefined is the value of a missing variable, key or attribute. It prints
// as "" and is false, as in Jinja; using it otherwise is an error.
type Undefined struct{ name string }

// Dict is a mapping with string keys that keeps insertion order, as Python
// dicts do (tojson and iteration depend on it).
type Dict struct {
	keys []string
	m    map[string]any
}

// NewDict returns an empty Dict.
func NewDict() *Dict { return &Dict{m: map[string]any{}} }

// Set adds or replaces key.
func (d *Dict) Set(key string, v any) {
	if _, ok := d.m[key]; !ok {
		d.keys = append(d.keys, key)
	}
	d.m[key] = v
}

// Get returns the value of key.
func (d *Dict) Get(key string) (any, bool) { v, ok := d.m[key]; return v, ok }

// Keys returns the keys in insertion order.
func (d *Dict) Keys() []string { return d.keys }

// Len is the number of keys.
func (d *Dict) Len() int { return len(d.keys) }

// Namespace is the mutable object namespace(...) returns.
type Namespace struct{ attrs *Dict }

// callable is a built-in function or a bound method.
type callable func(args []any, kw *Dict) (any, error)

// FromGo converts Go data (maps, slices, numbers, strings, bools, nil, and
// json.RawMessage, decoded keeping key order) into template values. Maps
// with string keys become a Dict with sorted keys; pass a *Dict or JSON to
// keep another order.
func FromGo(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, int64, float64, *Dict, *Namespace, Undefined:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case json.RawMessage:
		return FromJSON(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = FromGo(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, nil
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = FromGo(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := NewDict()
		for _, k := range keys {
			e, err := FromGo(x[k])
			if err != nil {
				return nil, err
			}
			d.Set(k, e)
		}
		return d, nil
	}
	return nil, fmt.Errorf("jinja: cannot use a %T as a template value", v)
}

// FromJSON decodes JSON into template values, keeping object key order.
func FromJSON(b []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	v, err := decodeJSON(dec)
	if err != nil {
		return nil, fmt.Errorf("jinja: JSON value: %w", err)
	}
	return v, nil
}

func decodeJSON(dec *json.Decoder) (any, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '{':
			d := NewDict()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeJSON(dec)
				if err != nil {
					return nil, err
				}
				d.Set(kt.(string), v)
			}
			_, err := dec.Token()
			return d, err
		case '[':
			l := []any{}
			for dec.More() {
				v, err := decodeJSON(dec)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			_, err := dec.Token()
			return l, err
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		return strconv.ParseFloat(string(x), 64)
	case string, bool, nil:
		return x, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", t)
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []any:
		return "list"
	case *Dict:
		return "dict"
	case *Namespace:
		return "Namespace"
	case Undefined:
		return "Undefined"
	case callable, *macro:
		return "function"
	}
	return fmt.Sprintf("%T", v)
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil, Undefined:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case *Dict:
		return x.Len() > 0
	}
	return true
}

// pyStr is Python's str().
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case Undefined:
		return ""
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return pyFloat(x)
	case string:
		return x
	}
	return pyRepr(v)
}

func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		// Python writes at least two exponent digits: 1e-05, 1e+16.
		if i := strings.IndexByte(s, 'e'); i >= 0 && len(s)-i == 3 {
			s = s[:i+2] + "0" + s[i+2:]
		}
		return s
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// pyRepr is Python's repr().
func pyRepr(v any) string {
	switch x := v.(type) {
	case string:
		q := "'"
		if strings.Contains(x, "'") && !strings.Contains(x, "\"") {
			q = "\""
		}
		r := strings.NewReplacer("\\", "\\\\", "\n", "\\n", "\r", "\\r", "\t", "\\t", q, "\\"+q)
		return q + r.Replace(x) + q
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *Dict:
		parts := make([]string, 0, x.Len())
		for _, k := range x.keys {
			parts = append(parts, pyRepr(k)+": "+pyRepr(x.m[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case *Namespace:
		return "<Namespace " + pyRepr(x.attrs) + ">"
	case callable, *macro:
		return "<function>"
	}
	return pyStr(v)
}

// toJSON is Python's json.dumps(v, ensure_ascii=False, indent=indent,
// sort_keys=sortKeys), the tojson filter of transformers' templates.
func toJSON(v any, indent int, sortKeys bool) (string, error) {
	var sb strings.Builder
	var enc func(v any, depth int) error
	nl := func(depth int) {
		if indent >= 0 {
			sb.WriteByte('\n')
			sb.WriteString(strings.Repeat(" ", indent*depth))
		}
	}
	itemSep := ", "
	if indent >= 0 {
		itemSep = ","
	}
	enc = func(v any, depth int) error {
		switch x := v.(type) {
		case nil:
			sb.WriteString("null")
		case bool:
			if x {
				sb.WriteString("true")
			} else {
				sb.WriteString("false")
			}
		case int64:
			sb.WriteString(strconv.FormatInt(x, 10))
		case float64:
			switch {
			case math.IsNaN(x):
				sb.WriteString("NaN")
			case math.IsInf(x, 1):
				sb.WriteString("Infinity")
			case math.IsInf(x, -1):
				sb.WriteString("-Infinity")
			default:
				sb.WriteString(pyFloat(x))
			}
		case string:
			writeJSONString(&sb, x)
		case []any:
			if len(x) == 0 {
				sb.WriteString("[]")
				return nil
			}
			sb.WriteByte('[')
			for i, e := range x {
				if i > 0 {
					sb.WriteString(itemSep)
				}
				nl(depth + 1)
				if err := enc(e, depth+1); err != nil {
					return err
				}
			}
			nl(depth)
			sb.WriteByte(']')
		case *Dict:
			if x.Len() == 0 {
				sb.WriteString("{}")
				return nil
			}
			keys := x.keys
			if sortKeys {
				keys = append([]string(nil), keys...)
				sort.Strings(keys)
			}
			sb.WriteByte('{')
			for i, k := range keys {
				if i > 0 {
					sb.WriteString(itemSep)
				}
				nl(depth + 1)
				writeJSONString(&sb, k)
				sb.WriteString(": ")
				if err := enc(x.m[k], depth+1); err != nil {
					return err
				}
			}
			nl(depth)
			sb.WriteByte('}')
		case Undefined:
			//lint:ignore ST1005 Python's json.dumps message, word for word
			return fmt.Errorf("Object of type Undefined is not JSON serializable")
		default:
			//lint:ignore ST1005 Python's json.dumps message, word for word
			return fmt.Errorf("Object of type %s is not JSON serializable", typeName(v))
		}
		return nil
	}
	err := enc(v, 0)
	return sb.String(), err
}

func writeJSONString(sb *strings.Builder, s string) {
	sb.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		case '\b':
			sb.WriteString(`\b`)
		case '\f':
			sb.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(sb, `\u%04x`, r)
			} else {
				sb.WriteRune(r)
			}
		}
	}
	sb.WriteByte('"')
}

func toNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func pyEqual(a, b any) bool {
	if x, ok := toNumber(a); ok {
		if y, ok := toNumber(b); ok {
			_, ab := a.(bool)
			_, bb := b.(bool)
			if ab != bb && !(isNum(a) || isNum(b)) {
				return false
			}
			return x == y
		}
		return false
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case Undefined:
		_, ok := b.(Undefined)
		return ok
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !pyEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for _, k := range x.keys {
			w, ok := y.m[k]
			if !ok || !pyEqual(x.m[k], w) {
				return false
			}
		}
		return true
	}
	return a == b
}

func isNum(v any) bool {
	switch v.(type) {
	case int64, float64:
		return true
	}
	return false
}
