package jinja

import (
	"math"
	"strings"
	"unicode/utf8"
)

func (r *renderer) eval(x expr, sc *scope) (any, error) {
	switch x := x.(type) {
	case *literal:
		return x.v, nil
	case *nameExpr:
		if v, ok := sc.lookup(x.name); ok {
			return v, nil
		}
		return Undefined{name: x.name}, nil
	case *listExpr:
		l := make([]any, len(x.items))
		for i, e := range x.items {
			v, err := r.eval(e, sc)
			if err != nil {
				return nil, err
			}
			l[i] = v
		}
		return l, nil
	case *dictExpr:
		d := NewDict()
		for i := range x.keys {
			k, err := r.eval(x.keys[i], sc)
			if err != nil {
				return nil, err
			}
			ks, ok := k.(string)
			if !ok {
				return nil, errorf(0, "dict keys must be strings, not %s", typeName(k))
			}
			v, err := r.eval(x.vals[i], sc)
			if err != nil {
				return nil, err
			}
			d.Set(ks, v)
		}
		return d, nil
	case *attrExpr:
		v, err := r.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		return getAttr(v, x.name, x.line)
	case *indexExpr:
		v, err := r.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		k, err := r.eval(x.idx, sc)
		if err != nil {
			return nil, err
		}
		return getItem(v, k, x.line)
	case *sliceExpr:
		return r.evalSlice(x, sc)
	case *callExpr:
		fn, err := r.eval(x.fn, sc)
		if err != nil {
			return nil, err
		}
		args, kw, err := r.evalArgs(x, sc)
		if err != nil {
			return nil, err
		}
		switch f := fn.(type) {
		case callable:
			v, err := f(args, kw)
			if err != nil {
				if _, ok := err.(*Error); !ok {
					err = errorf(x.line, "%v", err)
				}
			}
			return v, err
		case *macro:
			return f.call(args, kw, x.line)
		case Undefined:
			return nil, errorf(x.line, "%s is undefined (functions outside the supported subset are refused)", f.name)
		}
		return nil, errorf(x.line, "'%s' object is not callable", typeName(fn))
	case *filterExpr:
		v, err := r.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		args, kw, err := r.evalArgs(&x.call, sc)
		if err != nil {
			return nil, err
		}
		return applyFilter(x.name, v, args, kw, x.line)
	case *testExpr:
		v, err := r.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		args := make([]any, len(x.args))
		for i, a := range x.args {
			if args[i], err = r.eval(a, sc); err != nil {
				return nil, err
			}
		}
		ok, err := applyTest(x.name, v, args, x.line)
		if err != nil {
			return nil, err
		}
		return ok != x.negate, nil
	case *unaryExpr:
		v, err := r.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		if x.op == "not" {
			return !truthy(v), nil
		}
		switch n := v.(type) {
		case int64:
			return -n, nil
		case float64:
			return -n, nil
		}
		return nil, errorf(0, "bad operand type for unary -: %s", typeName(v))
	case *condExpr:
		c, err := r.eval(x.cond, sc)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return r.eval(x.a, sc)
		}
		return r.eval(x.b, sc)
	case *binaryExpr:
		return r.evalBinary(x, sc)
	}
	return nil, errorf(0, "unknown expression %T", x)
}

func (r *renderer) evalArgs(c *callExpr, sc *scope) ([]any, *Dict, error) {
	args := make([]any, len(c.args))
	for i, a := range c.args {
		v, err := r.eval(a, sc)
		if err != nil {
			return nil, nil, err
		}
		args[i] = v
	}
	var kw *Dict
	if len(c.kwNames) > 0 {
		kw = NewDict()
		for i, n := range c.kwNames {
			v, err := r.eval(c.kwVals[i], sc)
			if err != nil {
				return nil, nil, err
			}
			kw.Set(n, v)
		}
	}
	return args, kw, nil
}

func (r *renderer) evalBinary(x *binaryExpr, sc *scope) (any, error) {
	l, err := r.eval(x.l, sc)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "and":
		if !truthy(l) {
			return l, nil
		}
		return r.eval(x.r, sc)
	case "or":
		if truthy(l) {
			return l, nil
		}
		return r.eval(x.r, sc)
	}
	rv, err := r.eval(x.r, sc)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "==":
		return pyEqual(l, rv), nil
	case "!=":
		return !pyEqual(l, rv), nil
	case "in", "not in":
		ok, err := contains(rv, l, x.line)
		if err != nil {
			return nil, err
		}
		return ok == (x.op == "in"), nil
	case "~":
		return pyStr(l) + pyStr(rv), nil
	case "<", ">", "<=", ">=":
		c, err := compare(l, rv, x.line)
		if err != nil {
			return nil, err
		}
		switch x.op {
		case "<":
			return c < 0, nil
		case ">":
			return c > 0, nil
		case "<=":
			return c <= 0, nil
		}
		return c >= 0, nil
	}
	return arith(x.op, l, rv, x.line)
}

func contains(container, item any, line int) (bool, error) {
	switch c := container.(type) {
	case string:
		s, ok := item.(string)
		if !ok {
			return false, errorf(line, "'in <string>' requires string as left operand, not %s", typeName(item))
		}
		return strings.Contains(c, s), nil
	case []any:
		for _, e := range c {
			if pyEqual(e, item) {
				return true, nil
			}
		}
		return false, nil
	case *Dict:
		s, ok := item.(string)
		return ok && hasKey(c, s), nil
	case *Namespace:
		s, ok := item.(string)
		return ok && hasKey(c.attrs, s), nil
	case Undefined:
		return false, errorf(line, "%s is undefined", c.name)
	}
	return false, errorf(line, "argument of type '%s' is not iterable", typeName(container))
}

func compare(a, b any, line int) (int, error) {
	if x, ok := toNumber(a); ok {
		if y, ok := toNumber(b); ok {
			switch {
			case x < y:
				return -1, nil
			case x > y:
				return 1, nil
			}
			return 0, nil
		}
	}
	if x, ok := a.(string); ok {
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), nil
		}
	}
	return 0, errorf(line, "cannot compare %s with %s", typeName(a), typeName(b))
}

func arith(op string, a, b any, line int) (any, error) {
	if _, ok := a.(Undefined); ok {
		return nil, errorf(line, "%s is undefined", a.(Undefined).name)
	}
	if _, ok := b.(Undefined); ok {
		return nil, errorf(line, "%s is undefined", b.(Undefined).name)
	}
	ai, aInt := a.(int64)
	bi, bInt := b.(int64)
	af, aNum := toNumber(a)
	bf, bNum := toNumber(b)
	switch op {
	case "+":
		switch x := a.(type) {
		case string:
			if y, ok := b.(string); ok {
				return x + y, nil
			}
		case []any:
			if y, ok := b.([]any); ok {
				return append(append([]any{}, x...), y...), nil
			}
		}
		if aInt && bInt {
			return ai + bi, nil
		}
		if aNum && bNum {
			return af + bf, nil
		}
	case "-":
		if aInt && bInt {
			return ai - bi, nil
		}
		if aNum && bNum {
			return af - bf, nil
		}
	case "*":
		if s, ok := a.(string); ok && bInt {
			// Templates come with model files: bound what one can allocate.
			if bi > 0 && int64(len(s))*bi > 1<<24 {
				return nil, errorf(line, "string repetition longer than 16 MiB")
			}
			return strings.Repeat(s, int(max(bi, 0))), nil
		}
		if aInt && bInt {
			return ai * bi, nil
		}
		if aNum && bNum {
			return af * bf, nil
		}
	case "/":
		if aNum && bNum {
			if bf == 0 {
				return nil, errorf(line, "division by zero")
			}
			return af / bf, nil
		}
	case "//":
		if aNum && bNum {
			if bf == 0 {
				return nil, errorf(line, "division by zero")
			}
			if aInt && bInt {
				q := ai / bi
				if (ai%bi != 0) && ((ai < 0) != (bi < 0)) {
					q--
				}
				return q, nil
			}
			return math.Floor(af / bf), nil
		}
	case "%":
		if aInt && bInt {
			if bi == 0 {
				return nil, errorf(line, "modulo by zero")
			}
			m := ai % bi
			if m != 0 && (m < 0) != (bi < 0) {
				m += bi
			}
			return m, nil
		}
		if aNum && bNum {
			return af - bf*math.Floor(af/bf), nil
		}
		if _, ok := a.(string); ok {
			return nil, errorf(line, "printf-style string formatting is not supported")
		}
	case "**":
		if aInt && bInt && bi >= 0 {
			return int64(math.Pow(float64(ai), float64(bi))), nil
		}
		if aNum && bNum {
			return math.Pow(af, bf), nil
		}
	}
	return nil, errorf(line, "unsupported operand types for %s: '%s' and '%s'", op, typeName(a), typeName(b))
}

func (r *renderer) evalSlice(x *sliceExpr, sc *scope) (any, error) {
	v, err := r.eval(x.x, sc)
	if err != nil {
		return nil, err
	}
	var n int
	var runes []rune
	switch s := v.(type) {
	case []any:
		n = len(s)
	case string:
		runes = []rune(s)
		n = len(runes)
	case Undefined:
		return nil, errorf(x.line, "%s is undefined", s.name)
	default:
		return nil, errorf(x.line, "'%s' object is not subscriptable", typeName(v))
	}
	bound := func(e expr, def int64) (int64, bool, error) {
		if e == nil {
			return def, false, nil
		}
		bv, err := r.eval(e, sc)
		if err != nil {
			return 0, false, err
		}
		if bv == nil {
			return def, false, nil
		}
		i, ok := bv.(int64)
		if !ok {
			return 0, false, errorf(x.line, "slice indices must be integers")
		}
		return i, true, nil
	}
	step, _, err := bound(x.step, 1)
	if err != nil {
		return nil, err
	}
	if step == 0 {
		return nil, errorf(x.line, "slice step cannot be zero")
	}
	lo, loSet, err := bound(x.lo, 0)
	if err != nil {
		return nil, err
	}
	hi, hiSet, err := bound(x.hi, int64(n))
	if err != nil {
		return nil, err
	}
	// Python's slice.indices.
	norm := func(i int64, set bool, def int64) int64 {
		if !set {
			return def
		}
		if i < 0 {
			i += int64(n)
			if i < 0 {
				if step < 0 {
					return -1
				}
				return 0
			}
		}
		if i >= int64(n) {
			if step < 0 {
				return int64(n) - 1
			}
			return int64(n)
		}
		return i
	}
	if step > 0 {
		lo, hi = norm(lo, loSet, 0), norm(hi, hiSet, int64(n))
	} else {
		lo, hi = norm(lo, loSet, int64(n)-1), norm(hi, hiSet, -1)
	}
	var idx []int
	for i := lo; (step > 0 && i < hi) || (step < 0 && i > hi); i += step {
		idx = append(idx, int(i))
	}
	if runes != nil || n == 0 {
		if _, isStr := v.(string); isStr {
			out := make([]rune, len(idx))
			for k, i := range idx {
				out[k] = runes[i]
			}
			return string(out), nil
		}
	}
	l := v.([]any)
	out := make([]any, len(idx))
	for k, i := range idx {
		out[k] = l[i]
	}
	return out, nil
}

// dictMethods are looked up before keys by attribute access, as Python's
// getattr finds the method first.
var dictMethods = map[string]bool{"items": true, "keys": true, "values": true, "get": true}

func getAttr(v any, name string, line int) (any, error) {
	switch x := v.(type) {
	case Undefined:
		return nil, errorf(line, "%s is undefined (reading .%s)", x.name, name)
	case *Dict:
		if dictMethods[name] {
			return dictMethod(x, name), nil
		}
		if e, ok := x.m[name]; ok {
			return e, nil
		}
	case *Namespace:
		if e, ok := x.attrs.m[name]; ok {
			return e, nil
		}
	case string:
		if m := stringMethod(x, name); m != nil {
			return m, nil
		}
	}
	return Undefined{name: name}, nil
}

func getItem(v, key any, line int) (any, error) {
	switch x := v.(type) {
	case Undefined:
		return nil, errorf(line, "%s is undefined (reading [%s])", x.name, pyRepr(key))
	case *Dict:
		if k, ok := key.(string); ok {
			if e, ok := x.m[k]; ok {
				return e, nil
			}
			if dictMethods[k] {
				return dictMethod(x, k), nil
			}
			return Undefined{name: k}, nil
		}
	case *Namespace:
		if k, ok := key.(string); ok {
			if e, ok := x.attrs.m[k]; ok {
				return e, nil
			}
			return Undefined{name: k}, nil
		}
	case []any:
		if i, ok := key.(int64); ok {
			if i < 0 {
				i += int64(len(x))
			}
			if i < 0 || i >= int64(len(x)) {
				return Undefined{name: "list index out of range"}, nil
			}
			return x[i], nil
		}
	case string:
		if i, ok := key.(int64); ok {
			rs := []rune(x)
			if i < 0 {
				i += int64(len(rs))
			}
			if i < 0 || i >= int64(len(rs)) {
				return Undefined{name: "string index out of range"}, nil
			}
			return string(rs[i]), nil
		}
		if k, ok := key.(string); ok {
			if m := stringMethod(x, k); m != nil {
				return m, nil
			}
		}
	case nil:
		return Undefined{name: pyStr(key)}, nil
	}
	return Undefined{name: pyStr(key)}, nil
}

func dictMethod(d *Dict, name string) callable {
	return func(args []any, kw *Dict) (any, error) {
		switch name {
		case "items":
			out := make([]any, 0, d.Len())
			for _, k := range d.keys {
				out = append(out, []any{k, d.m[k]})
			}
			return out, nil
		case "keys":
			out := make([]any, 0, d.Len())
			for _, k := range d.keys {
				out = append(out, k)
			}
			return out, nil
		case "values":
			out := make([]any, 0, d.Len())
			for _, k := range d.keys {
				out = append(out, d.m[k])
			}
			return out, nil
		}
		// get(key, default=None)
		if len(args) < 1 {
			return nil, errorf(0, "get expects a key")
		}
		k, _ := args[0].(string)
		if v, ok := d.m[k]; ok {
			return v, nil
		}
		if len(args) > 1 {
			return args[1], nil
		}
		return nil, nil
	}
}

func strArg(args []any, i int, method string) (string, error) {
	if i >= len(args) {
		return "", errorf(0, "%s: missing argument", method)
	}
	s, ok := args[i].(string)
	if !ok {
		return "", errorf(0, "%s: argument %d must be a string, not %s", method, i+1, typeName(args[i]))
	}
	return s, nil
}

func stringMethod(s, name string) callable {
	switch name {
	case "startswith", "endswith":
		return func(args []any, kw *Dict) (any, error) {
			var prefixes []string
			if len(args) > 0 {
				if l, ok := args[0].([]any); ok {
					for _, e := range l {
						if p, ok := e.(string); ok {
							prefixes = append(prefixes, p)
						}
					}
				}
			}
			if prefixes == nil {
				p, err := strArg(args, 0, name)
				if err != nil {
					return nil, err
				}
				prefixes = []string{p}
			}
			for _, p := range prefixes {
				if name == "startswith" && strings.HasPrefix(s, p) || name == "endswith" && strings.HasSuffix(s, p) {
					return true, nil
				}
			}
			return false, nil
		}
	case "strip", "lstrip", "rstrip":
		return func(args []any, kw *Dict) (any, error) {
			if len(args) > 0 && args[0] != nil {
				cut, err := strArg(args, 0, name)
				if err != nil {
					return nil, err
				}
				switch name {
				case "strip":
					return strings.Trim(s, cut), nil
				case "lstrip":
					return strings.TrimLeft(s, cut), nil
				}
				return strings.TrimRight(s, cut), nil
			}
			switch name {
			case "strip":
				return pyStrip(s, true, true), nil
			case "lstrip":
				return pyStrip(s, true, false), nil
			}
			return pyStrip(s, false, true), nil
		}
	case "lower":
		return func([]any, *Dict) (any, error) { return strings.ToLower(s), nil }
	case "upper":
		return func([]any, *Dict) (any, error) { return strings.ToUpper(s), nil }
	case "title":
		return func([]any, *Dict) (any, error) { return pyTitle(s), nil }
	case "capitalize":
		return func([]any, *Dict) (any, error) { return pyCapitalize(s), nil }
	case "replace":
		return func(args []any, kw *Dict) (any, error) {
			a, err := strArg(args, 0, name)
			if err != nil {
				return nil, err
			}
			b, err := strArg(args, 1, name)
			if err != nil {
				return nil, err
			}
			n := -1
			if len(args) > 2 {
				if c, ok := args[2].(int64); ok {
					n = int(c)
				}
			}
			return strings.Replace(s, a, b, n), nil
		}
	case "split", "rsplit":
		return func(args []any, kw *Dict) (any, error) {
			var parts []string
			maxSplit := -1
			if len(args) > 1 {
				if m, ok := args[1].(int64); ok {
					maxSplit = int(m)
				}
			}
			if len(args) == 0 || args[0] == nil {
				if maxSplit >= 0 {
					return nil, errorf(0, "split with maxsplit and no separator is not supported")
				}
				parts = strings.Fields(s)
			} else {
				sep, err := strArg(args, 0, name)
				if err != nil {
					return nil, err
				}
				if sep == "" {
					return nil, errorf(0, "empty separator")
				}
				if name == "rsplit" && maxSplit >= 0 {
					all := strings.Split(s, sep)
					if len(all) > maxSplit+1 {
						head := strings.Join(all[:len(all)-maxSplit], sep)
						all = append([]string{head}, all[len(all)-maxSplit:]...)
					}
					parts = all
				} else {
					n := -1
					if maxSplit >= 0 {
						n = maxSplit + 1
					}
					parts = strings.SplitN(s, sep, n)
				}
			}
			out := make([]any, len(parts))
			for i, p := range parts {
				out[i] = p
			}
			return out, nil
		}
	case "find":
		return func(args []any, kw *Dict) (any, error) {
			sub, err := strArg(args, 0, name)
			if err != nil {
				return nil, err
			}
			i := strings.Index(s, sub)
			if i < 0 {
				return int64(-1), nil
			}
			return int64(utf8.RuneCountInString(s[:i])), nil
		}
	case "count":
		return func(args []any, kw *Dict) (any, error) {
			sub, err := strArg(args, 0, name)
			if err != nil {
				return nil, err
			}
			return int64(strings.Count(s, sub)), nil
		}
	case "join":
		return func(args []any, kw *Dict) (any, error) {
			if len(args) != 1 {
				return nil, errorf(0, "join expects one argument")
			}
			l, ok := args[0].([]any)
			if !ok {
				return nil, errorf(0, "join expects a list")
			}
			parts := make([]string, len(l))
			for i, e := range l {
				p, ok := e.(string)
				if !ok {
					return nil, errorf(0, "sequence item %d: expected str instance, %s found", i, typeName(e))
				}
				parts[i] = p
			}
			return strings.Join(parts, s), nil
		}
	}
	return nil
}

// pyStrip is str.strip() without arguments (Unicode whitespace).
func pyStrip(s string, left, right bool) string {
	isSpace := func(r rune) bool {
		switch r {
		case ' ', '\t', '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
			return true
		}
		return r >= 0x2000 && r <= 0x200a
	}
	if left {
		s = strings.TrimLeftFunc(s, isSpace)
	}
	if right {
		s = strings.TrimRightFunc(s, isSpace)
	}
	return s
}

func pyCapitalize(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + strings.ToLower(s[n:])
}

func pyTitle(s string) string {
	var sb strings.Builder
	prevCased := false
	for _, r := range s {
		isLetter := strings.ToUpper(string(r)) != strings.ToLower(string(r))
		if isLetter {
			if prevCased {
				sb.WriteString(strings.ToLower(string(r)))
			} else {
				sb.WriteString(strings.ToUpper(string(r)))
			}
		} else {
			sb.WriteRune(r)
		}
		prevCased = isLetter
	}
	return sb.String()
}
