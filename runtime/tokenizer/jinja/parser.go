package jinja

import (
	"strconv"
)

// Template statements.
type node interface{}

type textNode struct{ s string }
type outputNode struct {
	x    expr
	line int
}
type ifNode struct {
	conds  []expr
	bodies [][]node
	els    []node
}
type forNode struct {
	targets []string
	iter    expr
	cond    expr
	body    []node
	els     []node
	line    int
}
type setNode struct {
	target, attr string // attr: {% set ns.attr = ... %}
	targets      []string
	x            expr
	line         int
}
type macroNode struct {
	name     string
	params   []string
	defaults []expr // nil where the parameter has none
	body     []node
}
type breakNode struct{}
type continueNode struct{}

// Expressions.
type expr interface{}

type literal struct{ v any }
type nameExpr struct {
	name string
	line int
}
type listExpr struct{ items []expr }
type dictExpr struct{ keys, vals []expr }
type attrExpr struct {
	x    expr
	name string
	line int
}
type indexExpr struct {
	x, idx expr
	line   int
}
type sliceExpr struct {
	x            expr
	lo, hi, step expr
	line         int
}
type callExpr struct {
	fn      expr
	args    []expr
	kwNames []string
	kwVals  []expr
	line    int
}
type filterExpr struct {
	x    expr
	name string
	call callExpr
	line int
}
type testExpr struct {
	x      expr
	name   string
	args   []expr
	negate bool
	line   int
}
type unaryExpr struct {
	op string
	x  expr
}
type binaryExpr struct {
	op   string
	l, r expr
	line int
}
type condExpr struct {
	cond, a, b expr
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}
func (p *parser) isOp(v string) bool   { t := p.peek(); return t.kind == tOp && t.val == v }
func (p *parser) isName(v string) bool { t := p.peek(); return t.kind == tName && t.val == v }

func (p *parser) expectOp(v string) error {
	if t := p.next(); t.kind != tOp || t.val != v {
		return errorf(t.line, "expected %q, found %s", v, t)
	}
	return nil
}

func (p *parser) expectName() (string, error) {
	t := p.next()
	if t.kind != tName {
		return "", errorf(t.line, "expected a name, found %s", t)
	}
	return t.val, nil
}

func (p *parser) expectBlockEnd() error {
	if t := p.next(); t.kind != tBlockEnd {
		return errorf(t.line, "expected end of tag, found %s", t)
	}
	return nil
}

// parse parses the whole template.
func parse(toks []token) ([]node, error) {
	p := &parser{toks: toks}
	body, end, err := p.parseBody(nil)
	if err != nil {
		return nil, err
	}
	if end != "" {
		return nil, errorf(p.peek().line, "unexpected {%% %s %%}", end)
	}
	return body, nil
}

// parseBody parses nodes until EOF or a block tag named in ends, which it
// consumes up to its name and returns.
func (p *parser) parseBody(ends []string) ([]node, string, error) {
	var out []node
	for {
		t := p.next()
		switch t.kind {
		case tEOF:
			if len(ends) > 0 {
				return nil, "", errorf(t.line, "missing {%% %s %%}", ends[len(ends)-1])
			}
			return out, "", nil
		case tText:
			out = append(out, &textNode{t.val})
		case tVarBegin:
			x, err := p.parseExpr()
			if err != nil {
				return nil, "", err
			}
			if e := p.next(); e.kind != tVarEnd {
				return nil, "", errorf(e.line, "expected }}, found %s", e)
			}
			out = append(out, &outputNode{x: x, line: t.line})
		case tBlockBegin:
			nt := p.peek()
			if nt.kind != tName {
				return nil, "", errorf(nt.line, "expected a statement name, found %s", nt)
			}
			for _, e := range ends {
				if nt.val == e {
					p.next()
					return out, e, nil
				}
			}
			n, err := p.parseStatement()
			if err != nil {
				return nil, "", err
			}
			out = append(out, n)
		default:
			return nil, "", errorf(t.line, "unexpected %s", t)
		}
	}
}

func (p *parser) parseStatement() (node, error) {
	t := p.next()
	switch t.val {
	case "if":
		n := &ifNode{}
		for {
			c, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			if err := p.expectBlockEnd(); err != nil {
				return nil, err
			}
			body, end, err := p.parseBody([]string{"elif", "else", "endif"})
			if err != nil {
				return nil, err
			}
			n.conds = append(n.conds, c)
			n.bodies = append(n.bodies, body)
			switch end {
			case "elif":
				continue
			case "else":
				if err := p.expectBlockEnd(); err != nil {
					return nil, err
				}
				if n.els, _, err = p.parseBody([]string{"endif"}); err != nil {
					return nil, err
				}
			}
			return n, p.expectBlockEnd()
		}
	case "for":
		n := &forNode{line: t.line}
		for {
			name, err := p.expectName()
			if err != nil {
				return nil, err
			}
			n.targets = append(n.targets, name)
			if !p.isOp(",") {
				break
			}
			p.next()
		}
		if !p.isName("in") {
			return nil, errorf(p.peek().line, "expected 'in' in for loop")
		}
		p.next()
		var err error
		if n.iter, err = p.parseOr(); err != nil { // no conditional: "if" filters the loop
			return nil, err
		}
		if p.isName("if") {
			p.next()
			if n.cond, err = p.parseOr(); err != nil {
				return nil, err
			}
		}
		if p.isName("recursive") {
			return nil, errorf(t.line, "recursive for loops are not supported")
		}
		if err := p.expectBlockEnd(); err != nil {
			return nil, err
		}
		body, end, err := p.parseBody([]string{"else", "endfor"})
		if err != nil {
			return nil, err
		}
		n.body = body
		if end == "else" {
			if err := p.expectBlockEnd(); err != nil {
				return nil, err
			}
			if n.els, _, err = p.parseBody([]string{"endfor"}); err != nil {
				return nil, err
			}
		}
		return n, p.expectBlockEnd()
	case "set":
		n := &setNode{line: t.line}
		name, err := p.expectName()
		if err != nil {
			return nil, err
		}
		switch {
		case p.isOp("."):
			p.next()
			if n.attr, err = p.expectName(); err != nil {
				return nil, err
			}
			n.target = name
		case p.isOp(","):
			n.targets = []string{name}
			for p.isOp(",") {
				p.next()
				nm, err := p.expectName()
				if err != nil {
					return nil, err
				}
				n.targets = append(n.targets, nm)
			}
		default:
			n.target = name
		}
		if p.peek().kind == tBlockEnd {
			return nil, errorf(t.line, "block assignments ({%% set %s %%}...{%% endset %%}) are not supported", name)
		}
		if err := p.expectOp("="); err != nil {
			return nil, err
		}
		if n.x, err = p.parseTuple(); err != nil {
			return nil, err
		}
		return n, p.expectBlockEnd()
	case "macro":
		n := &macroNode{}
		var err error
		if n.name, err = p.expectName(); err != nil {
			return nil, err
		}
		if err := p.expectOp("("); err != nil {
			return nil, err
		}
		for !p.isOp(")") {
			pn, err := p.expectName()
			if err != nil {
				return nil, err
			}
			var def expr
			if p.isOp("=") {
				p.next()
				if def, err = p.parseExpr(); err != nil {
					return nil, err
				}
			}
			n.params = append(n.params, pn)
			n.defaults = append(n.defaults, def)
			if !p.isOp(",") {
				break
			}
			p.next()
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		if err := p.expectBlockEnd(); err != nil {
			return nil, err
		}
		if n.body, _, err = p.parseBody([]string{"endmacro"}); err != nil {
			return nil, err
		}
		if p.peek().kind == tName { // {% endmacro name %}
			p.next()
		}
		return n, p.expectBlockEnd()
	case "generation":
		// transformers' AssistantTracker marks assistant text for masks;
		// rendering is unchanged.
		if err := p.expectBlockEnd(); err != nil {
			return nil, err
		}
		body, _, err := p.parseBody([]string{"endgeneration"})
		if err != nil {
			return nil, err
		}
		return &ifNode{conds: []expr{&literal{v: true}}, bodies: [][]node{body}}, p.expectBlockEnd()
	case "break":
		return &breakNode{}, p.expectBlockEnd()
	case "continue":
		return &continueNode{}, p.expectBlockEnd()
	}
	return nil, errorf(t.line, "the {%% %s %%} statement is not supported", t.val)
}

// parseTuple parses an expression or an unparenthesized tuple (a, b).
func (p *parser) parseTuple() (expr, error) {
	x, err := p.parseExpr()
	if err != nil || !p.isOp(",") {
		return x, err
	}
	items := []expr{x}
	for p.isOp(",") {
		p.next()
		y, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		items = append(items, y)
	}
	return &listExpr{items: items}, nil
}

func (p *parser) parseExpr() (expr, error) {
	x, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.isName("if") {
		p.next()
		c, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		var b expr = &literal{v: Undefined{name: "else branch"}}
		if p.isName("else") {
			p.next()
			if b, err = p.parseExpr(); err != nil {
				return nil, err
			}
		}
		return &condExpr{cond: c, a: x, b: b}, nil
	}
	return x, nil
}

func (p *parser) parseOr() (expr, error) {
	x, err := p.parseAnd()
	for err == nil && p.isName("or") {
		line := p.next().line
		var y expr
		if y, err = p.parseAnd(); err == nil {
			x = &binaryExpr{op: "or", l: x, r: y, line: line}
		}
	}
	return x, err
}

func (p *parser) parseAnd() (expr, error) {
	x, err := p.parseNot()
	for err == nil && p.isName("and") {
		line := p.next().line
		var y expr
		if y, err = p.parseNot(); err == nil {
			x = &binaryExpr{op: "and", l: x, r: y, line: line}
		}
	}
	return x, err
}

func (p *parser) parseNot() (expr, error) {
	if p.isName("not") {
		p.next()
		x, err := p.parseNot()
		return &unaryExpr{op: "not", x: x}, err
	}
	return p.parseCompare()
}

func (p *parser) parseCompare() (expr, error) {
	x, err := p.parseMath1()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		op := ""
		switch {
		case t.kind == tOp && (t.val == "==" || t.val == "!=" || t.val == "<" || t.val == ">" || t.val == "<=" || t.val == ">="):
			op = t.val
			p.next()
		case t.kind == tName && t.val == "in":
			op = "in"
			p.next()
		case t.kind == tName && t.val == "not" && p.toks[p.pos+1].kind == tName && p.toks[p.pos+1].val == "in":
			op = "not in"
			p.next()
			p.next()
		default:
			return x, nil
		}
		y, err := p.parseMath1()
		if err != nil {
			return nil, err
		}
		x = &binaryExpr{op: op, l: x, r: y, line: t.line}
	}
}

func (p *parser) parseMath1() (expr, error) {
	x, err := p.parseConcat()
	for err == nil && (p.isOp("+") || p.isOp("-")) {
		t := p.next()
		var y expr
		if y, err = p.parseConcat(); err == nil {
			x = &binaryExpr{op: t.val, l: x, r: y, line: t.line}
		}
	}
	return x, err
}

func (p *parser) parseConcat() (expr, error) {
	x, err := p.parseMath2()
	for err == nil && p.isOp("~") {
		t := p.next()
		var y expr
		if y, err = p.parseMath2(); err == nil {
			x = &binaryExpr{op: "~", l: x, r: y, line: t.line}
		}
	}
	return x, err
}

func (p *parser) parseMath2() (expr, error) {
	x, err := p.parsePow()
	for err == nil && (p.isOp("*") || p.isOp("/") || p.isOp("//") || p.isOp("%")) {
		t := p.next()
		var y expr
		if y, err = p.parsePow(); err == nil {
			x = &binaryExpr{op: t.val, l: x, r: y, line: t.line}
		}
	}
	return x, err
}

func (p *parser) parsePow() (expr, error) {
	x, err := p.parseUnary(true)
	for err == nil && p.isOp("**") {
		t := p.next()
		var y expr
		if y, err = p.parseUnary(true); err == nil {
			x = &binaryExpr{op: "**", l: x, r: y, line: t.line}
		}
	}
	return x, err
}

func (p *parser) parseUnary(withFilter bool) (expr, error) {
	var x expr
	var err error
	switch {
	case p.isOp("-"):
		p.next()
		if x, err = p.parseUnary(false); err != nil {
			return nil, err
		}
		x = &unaryExpr{op: "-", x: x}
	case p.isOp("+"):
		p.next()
		if x, err = p.parseUnary(false); err != nil {
			return nil, err
		}
	default:
		if x, err = p.parsePrimary(); err != nil {
			return nil, err
		}
	}
	if x, err = p.parsePostfix(x); err != nil {
		return nil, err
	}
	if withFilter {
		return p.parseFilters(x)
	}
	return x, nil
}

func (p *parser) parsePrimary() (expr, error) {
	t := p.next()
	switch t.kind {
	case tName:
		switch t.val {
		case "true", "True":
			return &literal{v: true}, nil
		case "false", "False":
			return &literal{v: false}, nil
		case "none", "None":
			return &literal{v: nil}, nil
		}
		return &nameExpr{name: t.val, line: t.line}, nil
	case tString:
		s := t.val
		for p.peek().kind == tString { // adjacent literals concatenate
			s += p.next().val
		}
		return &literal{v: s}, nil
	case tInt:
		v, err := strconv.ParseInt(t.val, 10, 64)
		if err != nil {
			return nil, errorf(t.line, "bad integer %s", t.val)
		}
		return &literal{v: v}, nil
	case tFloat:
		v, err := strconv.ParseFloat(t.val, 64)
		if err != nil {
			return nil, errorf(t.line, "bad number %s", t.val)
		}
		return &literal{v: v}, nil
	case tOp:
		switch t.val {
		case "(":
			if p.isOp(")") {
				p.next()
				return &listExpr{}, nil
			}
			x, err := p.parseTuple()
			if err != nil {
				return nil, err
			}
			return x, p.expectOp(")")
		case "[":
			l := &listExpr{}
			for !p.isOp("]") {
				x, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				l.items = append(l.items, x)
				if !p.isOp(",") {
					break
				}
				p.next()
			}
			return l, p.expectOp("]")
		case "{":
			d := &dictExpr{}
			for !p.isOp("}") {
				k, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				if err := p.expectOp(":"); err != nil {
					return nil, err
				}
				v, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				d.keys, d.vals = append(d.keys, k), append(d.vals, v)
				if !p.isOp(",") {
					break
				}
				p.next()
			}
			return d, p.expectOp("}")
		}
	}
	return nil, errorf(t.line, "unexpected %s in expression", t)
}

func (p *parser) parsePostfix(x expr) (expr, error) {
	for {
		t := p.peek()
		switch {
		case t.kind == tOp && t.val == ".":
			p.next()
			nt := p.next()
			if nt.kind != tName && nt.kind != tInt {
				return nil, errorf(nt.line, "expected an attribute name after '.', found %s", nt)
			}
			x = &attrExpr{x: x, name: nt.val, line: nt.line}
		case t.kind == tOp && t.val == "[":
			p.next()
			var parts [3]expr
			n, colons := 0, 0
			for !p.isOp("]") {
				if p.isOp(":") {
					p.next()
					colons++
					n++
					if n > 2 {
						return nil, errorf(t.line, "bad slice")
					}
					continue
				}
				y, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				parts[n] = y
			}
			p.next()
			if colons == 0 {
				if parts[0] == nil {
					return nil, errorf(t.line, "empty subscript")
				}
				x = &indexExpr{x: x, idx: parts[0], line: t.line}
			} else {
				x = &sliceExpr{x: x, lo: parts[0], hi: parts[1], step: parts[2], line: t.line}
			}
		case t.kind == tOp && t.val == "(":
			c, err := p.parseCall(x)
			if err != nil {
				return nil, err
			}
			x = c
		default:
			return x, nil
		}
	}
}

func (p *parser) parseCall(fn expr) (*callExpr, error) {
	t := p.next() // (
	c := &callExpr{fn: fn, line: t.line}
	for !p.isOp(")") {
		if p.peek().kind == tName && p.toks[p.pos+1].kind == tOp && p.toks[p.pos+1].val == "=" {
			name := p.next().val
			p.next()
			v, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			c.kwNames, c.kwVals = append(c.kwNames, name), append(c.kwVals, v)
		} else {
			v, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, v)
		}
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	return c, p.expectOp(")")
}

func (p *parser) parseFilters(x expr) (expr, error) {
	for {
		switch {
		case p.isOp("|"):
			p.next()
			t := p.peek()
			name, err := p.expectName()
			if err != nil {
				return nil, err
			}
			f := &filterExpr{x: x, name: name, line: t.line}
			if p.isOp("(") {
				c, err := p.parseCall(nil)
				if err != nil {
					return nil, err
				}
				f.call = *c
			}
			x = f
		case p.isName("is"):
			t := p.next()
			te := &testExpr{x: x, line: t.line}
			if p.isName("not") {
				p.next()
				te.negate = true
			}
			name, err := p.expectName()
			if err != nil {
				return nil, err
			}
			te.name = name
			if p.isOp("(") {
				c, err := p.parseCall(nil)
				if err != nil {
					return nil, err
				}
				te.args = c.args
			} else if nt := p.peek(); nt.kind == tString || nt.kind == tInt || nt.kind == tFloat ||
				nt.kind == tName && nt.val != "else" && nt.val != "and" && nt.val != "or" && nt.val != "if" && nt.val != "in" && nt.val != "not" && nt.val != "is" {
				arg, err := p.parsePrimary()
				if err != nil {
					return nil, err
				}
				if arg, err = p.parsePostfix(arg); err != nil {
					return nil, err
				}
				te.args = []expr{arg}
			}
			x = te
		default:
			return x, nil
		}
	}
}
