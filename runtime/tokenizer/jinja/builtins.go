package jinja

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// globals are the functions transformers makes available to templates.
func globals(r *renderer) map[string]any {
	return map[string]any{
		"raise_exception": callable(func(args []any, kw *Dict) (any, error) {
			msg := "raise_exception"
			if len(args) > 0 {
				msg = pyStr(args[0])
			}
			return nil, &Error{Msg: "template raised an exception: " + msg}
		}),
		"strftime_now": callable(func(args []any, kw *Dict) (any, error) {
			f, err := strArg(args, 0, "strftime_now")
			if err != nil {
				return nil, err
			}
			return strftime(r.now, f)
		}),
		"namespace": callable(func(args []any, kw *Dict) (any, error) {
			ns := &Namespace{attrs: NewDict()}
			for _, a := range args {
				d, ok := a.(*Dict)
				if !ok {
					return nil, fmt.Errorf("namespace() takes keyword arguments or a dict")
				}
				for _, k := range d.keys {
					ns.attrs.Set(k, d.m[k])
				}
			}
			if kw != nil {
				for _, k := range kw.keys {
					ns.attrs.Set(k, kw.m[k])
				}
			}
			return ns, nil
		}),
		"dict": callable(func(args []any, kw *Dict) (any, error) {
			d := NewDict()
			if kw != nil {
				for _, k := range kw.keys {
					d.Set(k, kw.m[k])
				}
			}
			return d, nil
		}),
		"range": callable(func(args []any, kw *Dict) (any, error) {
			var b [3]int64
			b[2] = 1
			for i, a := range args {
				v, ok := a.(int64)
				if !ok || i > 2 {
					return nil, fmt.Errorf("range() takes up to 3 integers")
				}
				b[i] = v
			}
			lo, hi, step := int64(0), b[0], b[2]
			if len(args) >= 2 {
				lo, hi = b[0], b[1]
			}
			if step == 0 {
				return nil, fmt.Errorf("range() step must not be zero")
			}
			var out []any
			for i := lo; (step > 0 && i < hi) || (step < 0 && i > hi); i += step {
				out = append(out, i)
				if len(out) > 1<<20 {
					return nil, fmt.Errorf("range() too long")
				}
			}
			return out, nil
		}),
	}
}

// strftime formats t with Python's strftime directives.
func strftime(t time.Time, f string) (string, error) {
	var sb strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			sb.WriteByte(f[i])
			continue
		}
		i++
		pad := true
		if f[i] == '-' && i+1 < len(f) { // glibc: no padding
			pad = false
			i++
		}
		num := func(v, width int) {
			if pad {
				fmt.Fprintf(&sb, "%0*d", width, v)
			} else {
				sb.WriteString(strconv.Itoa(v))
			}
		}
		switch f[i] {
		case 'Y':
			sb.WriteString(strconv.Itoa(t.Year()))
		case 'y':
			num(t.Year()%100, 2)
		case 'm':
			num(int(t.Month()), 2)
		case 'd':
			num(t.Day(), 2)
		case 'H':
			num(t.Hour(), 2)
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			num(h, 2)
		case 'M':
			num(t.Minute(), 2)
		case 'S':
			num(t.Second(), 2)
		case 'j':
			num(t.YearDay(), 3)
		case 'p':
			if t.Hour() < 12 {
				sb.WriteString("AM")
			} else {
				sb.WriteString("PM")
			}
		case 'B':
			sb.WriteString(t.Month().String())
		case 'b':
			sb.WriteString(t.Month().String()[:3])
		case 'A':
			sb.WriteString(t.Weekday().String())
		case 'a':
			sb.WriteString(t.Weekday().String()[:3])
		case '%':
			sb.WriteByte('%')
		default:
			return "", fmt.Errorf("strftime_now: directive %%%c is not supported", f[i])
		}
	}
	return sb.String(), nil
}

func kwArg(kw *Dict, name string) (any, bool) {
	if kw == nil {
		return nil, false
	}
	return kw.Get(name)
}

func applyFilter(name string, v any, args []any, kw *Dict, line int) (any, error) {
	bad := func(format string, a ...any) error {
		return errorf(line, "filter %s: "+format, append([]any{name}, a...)...)
	}
	if _, ok := v.(Undefined); ok && name != "default" && name != "d" && name != "length" && name != "count" && name != "string" && name != "list" {
		return nil, errorf(line, "filter %s applied to undefined value %s", name, v.(Undefined).name)
	}
	switch name {
	case "length", "count":
		switch x := v.(type) {
		case string:
			return int64(utf8.RuneCountInString(x)), nil
		case []any:
			return int64(len(x)), nil
		case *Dict:
			return int64(x.Len()), nil
		case Undefined:
			return int64(0), nil
		}
		return nil, bad("object of type '%s' has no len()", typeName(v))
	case "default", "d":
		def := any("")
		if len(args) > 0 {
			def = args[0]
		}
		boolean := len(args) > 1 && truthy(args[1])
		if b, ok := kwArg(kw, "boolean"); ok {
			boolean = truthy(b)
		}
		if _, undef := v.(Undefined); undef || boolean && !truthy(v) {
			return def, nil
		}
		return v, nil
	case "join":
		sep := ""
		if len(args) > 0 {
			sep = pyStr(args[0])
		}
		items, err := iterate(v)
		if err != nil {
			return nil, bad("%v", err)
		}
		attr, hasAttr := kwArg(kw, "attribute")
		parts := make([]string, len(items))
		for i, e := range items {
			if hasAttr {
				if e, err = getItem(e, attr, line); err != nil {
					return nil, err
				}
			}
			parts[i] = pyStr(e)
		}
		return strings.Join(parts, sep), nil
	case "tojson":
		indent := -1
		if len(args) > 0 {
			if i, ok := args[0].(int64); ok {
				indent = int(i)
			}
		}
		if i, ok := kwArg(kw, "indent"); ok {
			if n, ok := i.(int64); ok {
				indent = int(n)
			}
		}
		sortKeys := false
		if s, ok := kwArg(kw, "sort_keys"); ok {
			sortKeys = truthy(s)
		}
		if _, ok := kwArg(kw, "separators"); ok {
			return nil, bad("the separators argument is not supported")
		}
		s, err := toJSON(v, indent, sortKeys)
		if err != nil {
			return nil, bad("%v", err)
		}
		return s, nil
	case "trim":
		if len(args) > 0 {
			return strings.Trim(pyStr(v), pyStr(args[0])), nil
		}
		return pyStrip(pyStr(v), true, true), nil
	case "upper":
		return strings.ToUpper(pyStr(v)), nil
	case "lower":
		return strings.ToLower(pyStr(v)), nil
	case "capitalize":
		return pyCapitalize(pyStr(v)), nil
	case "title":
		return pyTitle(pyStr(v)), nil
	case "string":
		return pyStr(v), nil
	case "safe", "e", "escape":
		if name == "safe" {
			return v, nil
		}
		r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&#34;", "'", "&#39;")
		return r.Replace(pyStr(v)), nil
	case "replace":
		if len(args) < 2 {
			return nil, bad("expects two arguments")
		}
		n := -1
		if len(args) > 2 {
			if c, ok := args[2].(int64); ok {
				n = int(c)
			}
		}
		return strings.Replace(pyStr(v), pyStr(args[0]), pyStr(args[1]), n), nil
	case "int":
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			return int64(x), nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case string:
			if i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return i, nil
			}
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return int64(f), nil
			}
		}
		if len(args) > 0 {
			return args[0], nil
		}
		return int64(0), nil
	case "float":
		if f, ok := toNumber(v); ok {
			return f, nil
		}
		if s, ok := v.(string); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				return f, nil
			}
		}
		return 0.0, nil
	case "abs":
		switch x := v.(type) {
		case int64:
			if x < 0 {
				return -x, nil
			}
			return x, nil
		case float64:
			if x < 0 {
				return -x, nil
			}
			return x, nil
		}
		return nil, bad("expects a number")
	case "list":
		if _, ok := v.(Undefined); ok {
			return []any{}, nil
		}
		items, err := iterate(v)
		if err != nil {
			return nil, bad("%v", err)
		}
		return append([]any{}, items...), nil
	case "first", "last":
		items, err := iterate(v)
		if err != nil {
			return nil, bad("%v", err)
		}
		if len(items) == 0 {
			return Undefined{name: name + " of an empty sequence"}, nil
		}
		if name == "first" {
			return items[0], nil
		}
		return items[len(items)-1], nil
	case "reverse":
		if s, ok := v.(string); ok {
			rs := []rune(s)
			for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
				rs[i], rs[j] = rs[j], rs[i]
			}
			return string(rs), nil
		}
		items, err := iterate(v)
		if err != nil {
			return nil, bad("%v", err)
		}
		out := make([]any, len(items))
		for i, e := range items {
			out[len(items)-1-i] = e
		}
		return out, nil
	case "items":
		d, ok := v.(*Dict)
		if !ok {
			return nil, bad("expects a mapping")
		}
		return dictMethod(d, "items")(nil, nil)
	case "unique":
		items, err := iterate(v)
		if err != nil {
			return nil, bad("%v", err)
		}
		var out []any
		for _, e := range items {
			dup := false
			for _, o := range out {
				if pyEqual(e, o) {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, e)
			}
		}
		return out, nil
	case "sort":
		items, err := iterate(v)
		if err != nil {
			return nil, bad("%v", err)
		}
		out := append([]any{}, items...)
		reverse := false
		if rv, ok := kwArg(kw, "reverse"); ok {
			reverse = truthy(rv)
		}
		attr, hasAttr := kwArg(kw, "attribute")
		var sortErr error
		key := func(e any) any {
			if hasAttr {
				k, err := getItem(e, attr, line)
				if err != nil {
					sortErr = err
				}
				return k
			}
			return e
		}
		sort.SliceStable(out, func(i, j int) bool {
			c, err := compare(key(out[i]), key(out[j]), line)
			if err != nil {
				sortErr = err
			}
			if reverse {
				return c > 0
			}
			return c < 0
		})
		return out, sortErr
	case "selectattr", "rejectattr", "select", "reject":
		items, err := iterate(v)
		if err != nil {
			return nil, bad("%v", err)
		}
		attrMode := name == "selectattr" || name == "rejectattr"
		want := name == "selectattr" || name == "select"
		var attr any
		rest := args
		if attrMode {
			if len(args) == 0 {
				return nil, bad("expects an attribute name")
			}
			attr, rest = args[0], args[1:]
		}
		var out []any
		for _, e := range items {
			x := e
			if attrMode {
				if x, err = getItem(e, attr, line); err != nil {
					return nil, err
				}
			}
			ok := truthy(x)
			if len(rest) > 0 {
				test, isStr := rest[0].(string)
				if !isStr {
					return nil, bad("test name must be a string")
				}
				if ok, err = applyTest(test, x, rest[1:], line); err != nil {
					return nil, err
				}
			}
			if ok == want {
				out = append(out, e)
			}
		}
		return out, nil
	case "map":
		items, err := iterate(v)
		if err != nil {
			return nil, bad("%v", err)
		}
		out := make([]any, len(items))
		if attr, ok := kwArg(kw, "attribute"); ok {
			def, hasDef := kwArg(kw, "default")
			for i, e := range items {
				if out[i], err = getItem(e, attr, line); err != nil {
					return nil, err
				}
				if _, undef := out[i].(Undefined); undef && hasDef {
					out[i] = def
				}
			}
			return out, nil
		}
		if len(args) == 0 {
			return nil, bad("expects a filter name or attribute=")
		}
		fname, ok := args[0].(string)
		if !ok {
			return nil, bad("filter name must be a string")
		}
		for i, e := range items {
			if out[i], err = applyFilter(fname, e, args[1:], nil, line); err != nil {
				return nil, err
			}
		}
		return out, nil
	case "indent":
		width := 4
		if len(args) > 0 {
			if w, ok := args[0].(int64); ok {
				width = int(w)
			}
		}
		first := len(args) > 1 && truthy(args[1])
		if f, ok := kwArg(kw, "first"); ok {
			first = truthy(f)
		}
		pad := strings.Repeat(" ", width)
		lines := strings.Split(pyStr(v), "\n")
		for i := range lines {
			if (i > 0 || first) && lines[i] != "" {
				lines[i] = pad + lines[i]
			}
		}
		return strings.Join(lines, "\n"), nil
	}
	return nil, errorf(line, "the filter %q is not supported", name)
}

func iterate(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case *Dict:
		out := make([]any, 0, x.Len())
		for _, k := range x.keys {
			out = append(out, k)
		}
		return out, nil
	case string:
		var out []any
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	case Undefined:
		return nil, nil
	}
	return nil, fmt.Errorf("'%s' object is not iterable", typeName(v))
}

func applyTest(name string, v any, args []any, line int) (bool, error) {
	switch name {
	case "defined":
		_, u := v.(Undefined)
		return !u, nil
	case "undefined":
		_, u := v.(Undefined)
		return u, nil
	case "none":
		return v == nil, nil
	case "string":
		_, ok := v.(string)
		return ok, nil
	case "number":
		return isNum(v), nil
	case "integer":
		_, ok := v.(int64)
		return ok, nil
	case "float":
		_, ok := v.(float64)
		return ok, nil
	case "boolean":
		_, ok := v.(bool)
		return ok, nil
	case "true":
		b, ok := v.(bool)
		return ok && b, nil
	case "false":
		b, ok := v.(bool)
		return ok && !b, nil
	case "mapping":
		_, ok := v.(*Dict)
		return ok, nil
	case "iterable":
		switch v.(type) {
		case []any, *Dict, string, Undefined:
			return true, nil
		}
		return false, nil
	case "sequence":
		switch v.(type) {
		case []any, *Dict, string:
			return true, nil
		}
		return false, nil
	case "callable":
		switch v.(type) {
		case callable, *macro:
			return true, nil
		}
		return false, nil
	case "odd", "even":
		i, ok := v.(int64)
		if !ok {
			return false, errorf(line, "test %s expects an integer", name)
		}
		return (i%2 != 0) == (name == "odd"), nil
	case "divisibleby":
		i, ok1 := v.(int64)
		if len(args) != 1 {
			return false, errorf(line, "test divisibleby expects one argument")
		}
		d, ok2 := args[0].(int64)
		if !ok1 || !ok2 || d == 0 {
			return false, errorf(line, "test divisibleby expects non-zero integers")
		}
		return i%d == 0, nil
	case "eq", "equalto", "==", "ne", "!=", "sameas", "lt", "gt", "le", "ge", "in":
		if len(args) != 1 {
			return false, errorf(line, "test %s expects one argument", name)
		}
		switch name {
		case "eq", "equalto", "==":
			return pyEqual(v, args[0]), nil
		case "ne", "!=":
			return !pyEqual(v, args[0]), nil
		case "sameas":
			if v == nil || args[0] == nil {
				return v == nil && args[0] == nil, nil
			}
			b1, ok1 := v.(bool)
			b2, ok2 := args[0].(bool)
			return ok1 && ok2 && b1 == b2, nil
		case "in":
			return contains(args[0], v, line)
		}
		c, err := compare(v, args[0], line)
		if err != nil {
			return false, err
		}
		switch name {
		case "lt":
			return c < 0, nil
		case "gt":
			return c > 0, nil
		case "le":
			return c <= 0, nil
		}
		return c >= 0, nil
	case "lower":
		s, ok := v.(string)
		return ok && strings.ToLower(s) == s, nil
	case "upper":
		s, ok := v.(string)
		return ok && strings.ToUpper(s) == s, nil
	}
	return false, errorf(line, "the test %q is not supported", name)
}
