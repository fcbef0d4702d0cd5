package jinja

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Template is a parsed template, safe for concurrent Render calls.
type Template struct {
	nodes []node
}

// Parse parses src. It refuses statements outside the subset.
func Parse(src string) (*Template, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	nodes, err := parse(toks)
	if err != nil {
		return nil, err
	}
	return &Template{nodes: nodes}, nil
}

// Options are the render-time settings.
type Options struct {
	// Now is the time strftime_now formats; zero means time.Now().
	Now time.Time
}

// Render renders the template with vars (converted with FromGo).
func (t *Template) Render(vars map[string]any, opt Options) (string, error) {
	r := &renderer{now: opt.Now}
	if r.now.IsZero() {
		r.now = time.Now()
	}
	root := &scope{vars: map[string]any{}}
	for k, v := range globals(r) {
		root.vars[k] = v
	}
	for k, v := range vars {
		cv, err := FromGo(v)
		if err != nil {
			return "", fmt.Errorf("variable %s: %w", k, err)
		}
		root.vars[k] = cv
	}
	r.root = root
	var sb strings.Builder
	if err := r.renderNodes(t.nodes, root, &sb); err != nil {
		if errors.Is(err, errBreak) || errors.Is(err, errContinue) {
			return "", errorf(0, "break/continue outside a loop")
		}
		return "", err
	}
	return sb.String(), nil
}

type scope struct {
	vars   map[string]any
	parent *scope
}

func (s *scope) lookup(name string) (any, bool) {
	for ; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

type renderer struct {
	root  *scope
	now   time.Time
	depth int
}

type macro struct {
	n *macroNode
	r *renderer
}

var (
	errBreak    = errors.New("break")
	errContinue = errors.New("continue")
)

const maxDepth = 200 // macro recursion limit

func (r *renderer) renderNodes(nodes []node, sc *scope, sb *strings.Builder) error {
	for _, n := range nodes {
		if err := r.renderNode(n, sc, sb); err != nil {
			return err
		}
	}
	return nil
}

func (r *renderer) renderNode(n node, sc *scope, sb *strings.Builder) error {
	switch n := n.(type) {
	case *textNode:
		sb.WriteString(n.s)
	case *outputNode:
		v, err := r.eval(n.x, sc)
		if err != nil {
			return err
		}
		sb.WriteString(pyStr(v))
	case *ifNode:
		for i, c := range n.conds {
			v, err := r.eval(c, sc)
			if err != nil {
				return err
			}
			if truthy(v) {
				return r.renderNodes(n.bodies[i], sc, sb)
			}
		}
		return r.renderNodes(n.els, sc, sb)
	case *forNode:
		return r.renderFor(n, sc, sb)
	case *setNode:
		v, err := r.eval(n.x, sc)
		if err != nil {
			return err
		}
		switch {
		case n.attr != "":
			obj, ok := sc.lookup(n.target)
			ns, isNS := obj.(*Namespace)
			if !ok || !isNS {
				return errorf(n.line, "cannot set attribute %s of %s (only namespace() objects can be changed)", n.attr, n.target)
			}
			ns.attrs.Set(n.attr, v)
		case n.targets != nil:
			l, ok := v.([]any)
			if !ok || len(l) != len(n.targets) {
				return errorf(n.line, "cannot unpack %s into %d names", typeName(v), len(n.targets))
			}
			for i, t := range n.targets {
				sc.vars[t] = l[i]
			}
		default:
			sc.vars[n.target] = v
		}
	case *macroNode:
		sc.vars[n.name] = &macro{n: n, r: r}
	case *breakNode:
		return errBreak
	case *continueNode:
		return errContinue
	default:
		return fmt.Errorf("jinja: unknown node %T", n)
	}
	return nil
}

func (r *renderer) renderFor(n *forNode, sc *scope, sb *strings.Builder) error {
	it, err := r.eval(n.iter, sc)
	if err != nil {
		return err
	}
	var items []any
	switch x := it.(type) {
	case []any:
		items = x
	case *Dict:
		for _, k := range x.keys {
			items = append(items, k)
		}
	case string:
		for _, c := range x {
			items = append(items, string(c))
		}
	case Undefined:
	default:
		return errorf(n.line, "'%s' object is not iterable", typeName(it))
	}
	inner := &scope{vars: map[string]any{}, parent: sc}
	bind := func(item any) error {
		if len(n.targets) == 1 {
			inner.vars[n.targets[0]] = item
			return nil
		}
		l, ok := item.([]any)
		if !ok || len(l) != len(n.targets) {
			return errorf(n.line, "cannot unpack %s into %d loop variables", typeName(item), len(n.targets))
		}
		for i, t := range n.targets {
			inner.vars[t] = l[i]
		}
		return nil
	}
	if n.cond != nil {
		var kept []any
		for _, item := range items {
			if err := bind(item); err != nil {
				return err
			}
			v, err := r.eval(n.cond, inner)
			if err != nil {
				return err
			}
			if truthy(v) {
				kept = append(kept, item)
			}
		}
		items = kept
	}
	if len(items) == 0 {
		return r.renderNodes(n.els, sc, sb)
	}
	for i, item := range items {
		if err := bind(item); err != nil {
			return err
		}
		loop := NewDict()
		loop.Set("index", int64(i+1))
		loop.Set("index0", int64(i))
		loop.Set("revindex", int64(len(items)-i))
		loop.Set("revindex0", int64(len(items)-i-1))
		loop.Set("first", i == 0)
		loop.Set("last", i == len(items)-1)
		loop.Set("length", int64(len(items)))
		if i > 0 {
			loop.Set("previtem", items[i-1])
		} else {
			loop.Set("previtem", Undefined{name: "previtem"})
		}
		if i+1 < len(items) {
			loop.Set("nextitem", items[i+1])
		} else {
			loop.Set("nextitem", Undefined{name: "nextitem"})
		}
		inner.vars["loop"] = loop
		err := r.renderNodes(n.body, inner, sb)
		if errors.Is(err, errBreak) {
			break
		}
		if err != nil && !errors.Is(err, errContinue) {
			return err
		}
	}
	return nil
}

func (m *macro) call(args []any, kw *Dict, line int) (any, error) {
	r := m.r
	if r.depth >= maxDepth {
		return nil, errorf(line, "macro %s: recursion deeper than %d", m.n.name, maxDepth)
	}
	sc := &scope{vars: map[string]any{}, parent: r.root}
	if len(args) > len(m.n.params) {
		return nil, errorf(line, "macro %s takes %d arguments, %d given", m.n.name, len(m.n.params), len(args))
	}
	for i, p := range m.n.params {
		switch {
		case i < len(args):
			sc.vars[p] = args[i]
		case kw != nil && hasKey(kw, p):
			sc.vars[p], _ = kw.Get(p)
		case m.n.defaults[i] != nil:
			v, err := r.eval(m.n.defaults[i], sc)
			if err != nil {
				return nil, err
			}
			sc.vars[p] = v
		default:
			sc.vars[p] = Undefined{name: p}
		}
	}
	r.depth++
	defer func() { r.depth-- }()
	var sb strings.Builder
	if err := r.renderNodes(m.n.body, sc, &sb); err != nil {
		return nil, err
	}
	return sb.String(), nil
}

func hasKey(d *Dict, k string) bool { _, ok := d.m[k]; return ok }
