// Package jinja renders the subset of Jinja2 that HuggingFace chat templates
// use, with the settings transformers renders them with (trim_blocks,
// lstrip_blocks, loop controls, tojson as json.dumps, raise_exception,
// strftime_now). Anything outside the subset is refused with an error that
// names the construct and its line, never rendered approximately.
package jinja

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tText       tokKind = iota
	tVarBegin           // {{
	tVarEnd             // }}
	tBlockBegin         // {%
	tBlockEnd           // %}
	tName
	tString
	tInt
	tFloat
	tOp // punctuation and operators
	tEOF
)

type token struct {
	kind tokKind
	val  string
	line int
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of template"
	case tText:
		return "text"
	}
	return fmt.Sprintf("%q", t.val)
}

// Error is a template error: a syntax error, something the subset does not
// support, a failed operation, or raise_exception.
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("chat template line %d: %s", e.Line, e.Msg)
	}
	return "chat template: " + e.Msg
}

func errorf(line int, format string, args ...any) error {
	return &Error{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// lex splits src into text and tag tokens, applying whitespace control
// ({%- -%}, {{- -}}, {#- -#}) and transformers' trim_blocks/lstrip_blocks.
func lex(src string) ([]token, error) {
	// keep_trailing_newline is off: one final newline is dropped.
	if strings.HasSuffix(src, "\n") {
		src = strings.TrimSuffix(src, "\n")
		src = strings.TrimSuffix(src, "\r")
	}
	var toks []token
	line := 1
	pos := 0
	// stripNext: the previous tag ended with "-": drop leading whitespace
	// of the next text. trimNewline: it was a block or comment tag
	// (trim_blocks drops one newline after it).
	stripNext, trimNewline := false, false
	for pos < len(src) {
		// Find the next tag start.
		next := -1
		for i := pos; i+1 < len(src); i++ {
			if src[i] == '{' && (src[i+1] == '{' || src[i+1] == '%' || src[i+1] == '#') {
				next = i
				break
			}
		}
		end := len(src)
		if next >= 0 {
			end = next
		}
		raw := src[pos:end]
		text := raw
		if stripNext {
			text = strings.TrimLeftFunc(text, unicode.IsSpace)
		} else if trimNewline {
			if strings.HasPrefix(text, "\n") {
				text = text[1:]
			} else if strings.HasPrefix(text, "\r\n") {
				text = text[2:]
			}
		}
		stripNext, trimNewline = false, false
		if next >= 0 {
			kind := src[next+1]
			minus := next+2 < len(src) && src[next+2] == '-'
			plus := next+2 < len(src) && src[next+2] == '+'
			if minus {
				text = strings.TrimRightFunc(text, unicode.IsSpace)
			} else if (kind == '%' || kind == '#') && !plus {
				// lstrip_blocks: spaces and tabs between the line start
				// and a block or comment tag go.
				k := strings.LastIndexByte(raw, '\n')
				tail := raw[k+1:]
				if strings.Trim(tail, " \t") == "" && (k >= 0 || pos == 0) && len(text) >= len(tail) {
					text = text[:len(text)-len(tail)]
				}
			}
		}
		if text != "" {
			toks = append(toks, token{kind: tText, val: text, line: line})
		}
		line += strings.Count(src[pos:end], "\n")
		if next < 0 {
			break
		}
		pos = next + 2
		kind := src[next+1]
		if pos < len(src) && (src[pos] == '-' || src[pos] == '+') {
			pos++
		}
		if kind == '#' {
			close := strings.Index(src[pos:], "#}")
			if close < 0 {
				return nil, errorf(line, "unclosed comment")
			}
			body := src[pos : pos+close]
			line += strings.Count(body, "\n")
			stripNext = strings.HasSuffix(body, "-")
			trimNewline = true
			pos += close + 2
			continue
		}
		begin, closer := tVarBegin, "}}"
		if kind == '%' {
			begin, closer = tBlockBegin, "%}"
		}
		toks = append(toks, token{kind: begin, line: line})
		var err error
		var minus bool
		toks, pos, line, minus, err = lexTag(src, pos, line, closer, toks)
		if err != nil {
			return nil, err
		}
		stripNext = minus
		trimNewline = kind == '%'
		if begin == tBlockBegin {
			toks = append(toks, token{kind: tBlockEnd, line: line})
		} else {
			toks = append(toks, token{kind: tVarEnd, line: line})
		}
	}
	toks = append(toks, token{kind: tEOF, line: line})
	return toks, nil
}

var ops2 = []string{"==", "!=", "<=", ">=", "//", "**"}

// lexTag reads expression tokens up to the closer ("}}" or "%}"), possibly
// preceded by "-". It returns the position after the closer.
func lexTag(src string, pos, line int, closer string, toks []token) ([]token, int, int, bool, error) {
	for pos < len(src) {
		c := src[pos]
		switch {
		case c == '\n':
			line++
			pos++
			continue
		case c == ' ' || c == '\t' || c == '\r':
			pos++
			continue
		}
		if strings.HasPrefix(src[pos:], "-"+closer) {
			return toks, pos + 3, line, true, nil
		}
		if strings.HasPrefix(src[pos:], "+"+closer) {
			return toks, pos + 3, line, false, nil
		}
		if strings.HasPrefix(src[pos:], closer) {
			return toks, pos + 2, line, false, nil
		}
		switch {
		case c == '"' || c == '\'':
			s, n, err := lexString(src[pos:], line)
			if err != nil {
				return nil, 0, 0, false, err
			}
			toks = append(toks, token{kind: tString, val: s, line: line})
			line += strings.Count(src[pos:pos+n], "\n")
			pos += n
		case c >= '0' && c <= '9':
			e := pos
			for e < len(src) && (src[e] >= '0' && src[e] <= '9' || src[e] == '_') {
				e++
			}
			kind := tInt
			if e+1 < len(src) && src[e] == '.' && src[e+1] >= '0' && src[e+1] <= '9' {
				kind = tFloat
				e++
				for e < len(src) && src[e] >= '0' && src[e] <= '9' {
					e++
				}
			}
			if e < len(src) && (src[e] == 'e' || src[e] == 'E') {
				f := e + 1
				if f < len(src) && (src[f] == '+' || src[f] == '-') {
					f++
				}
				if f < len(src) && src[f] >= '0' && src[f] <= '9' {
					kind = tFloat
					for e = f; e < len(src) && src[e] >= '0' && src[e] <= '9'; e++ {
					}
				}
			}
			toks = append(toks, token{kind: kind, val: strings.ReplaceAll(src[pos:e], "_", ""), line: line})
			pos = e
		case c == '_' || c < utf8.RuneSelf && unicode.IsLetter(rune(c)):
			e := pos
			for e < len(src) && (src[e] == '_' || src[e] < utf8.RuneSelf && (unicode.IsLetter(rune(src[e])) || unicode.IsDigit(rune(src[e])))) {
				e++
			}
			toks = append(toks, token{kind: tName, val: src[pos:e], line: line})
			pos = e
		default:
			op := ""
			for _, o := range ops2 {
				if strings.HasPrefix(src[pos:], o) {
					op = o
					break
				}
			}
			if op == "" {
				if strings.ContainsRune("+-*/%~|.,:()[]{}<>=!", rune(c)) {
					op = string(c)
				} else {
					return nil, 0, 0, false, errorf(line, "unexpected character %q", c)
				}
			}
			toks = append(toks, token{kind: tOp, val: op, line: line})
			pos += len(op)
		}
	}
	return nil, 0, 0, false, errorf(line, "unclosed tag (missing %q)", closer)
}

// lexString reads a quoted literal with Python escapes.
func lexString(s string, line int) (string, int, error) {
	q := s[0]
	var sb strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == q {
			return sb.String(), i + 1, nil
		}
		if c != '\\' || i+1 >= len(s) {
			sb.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case 'n':
			sb.WriteByte('\n')
		case 't':
			sb.WriteByte('\t')
		case 'r':
			sb.WriteByte('\r')
		case '\\', '\'', '"':
			sb.WriteByte(e)
		case '0':
			sb.WriteByte(0)
		case 'u', 'x':
			n := 4
			if e == 'x' {
				n = 2
			}
			if i+n >= len(s) {
				return "", 0, errorf(line, "bad \\%c escape", e)
			}
			var r rune
			for _, h := range s[i+1 : i+1+n] {
				v := strings.IndexRune("0123456789abcdef", unicode.ToLower(h))
				if v < 0 {
					return "", 0, errorf(line, "bad \\%c escape", e)
				}
				r = r*16 + rune(v)
			}
			sb.WriteRune(r)
			i += n
		default:
			sb.WriteByte('\\')
			sb.WriteByte(e)
		}
	}
	return "", 0, errorf(line, "unterminated string")
}
