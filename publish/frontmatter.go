package publish

import (
	"fmt"
	"strconv"
	"strings"
)

// FrontMatter is the top level of a model card's YAML header: scalar keys
// and lists of scalars, which is all the Hub's card metadata uses for the
// keys we read. Nested mappings are kept as absent.
type FrontMatter struct {
	scalars map[string]string
	lists   map[string][]string
}

// Scalar returns a scalar key's value, or the first item of a list key.
func (f *FrontMatter) Scalar(key string) string {
	if v, ok := f.scalars[key]; ok {
		return v
	}
	if l := f.lists[key]; len(l) > 0 {
		return l[0]
	}
	return ""
}

// List returns a list key's items, or a scalar key as a one-item list.
func (f *FrontMatter) List(key string) []string {
	if l, ok := f.lists[key]; ok {
		return l
	}
	if v, ok := f.scalars[key]; ok && v != "" {
		return []string{v}
	}
	return nil
}

// ParseFrontMatter reads the "---" delimited YAML block at the start of a
// Markdown file. A file without one gives an empty FrontMatter.
func ParseFrontMatter(text string) (*FrontMatter, error) {
	fm := &FrontMatter{scalars: map[string]string{}, lists: map[string][]string{}}
	text = strings.TrimPrefix(text, "\ufeff")
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != "---" {
		return fm, nil
	}
	end := -1
	for i := 1; i < len(lines); i++ {
		if t := strings.TrimRight(lines[i], " \t"); t == "---" || t == "..." {
			end = i
			break
		}
	}
	if end < 0 {
		return nil, fmt.Errorf("front matter: no closing '---'")
	}
	cur := "" // the key whose block list we are reading
	for i, line := range lines[1:end] {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		indented := line[0] == ' ' || line[0] == '\t'
		t := strings.TrimSpace(line)
		if indented || strings.HasPrefix(t, "- ") || t == "-" {
			if cur != "" && strings.HasPrefix(t, "-") {
				v, err := yamlScalar(strings.TrimSpace(strings.TrimPrefix(t, "-")))
				if err != nil {
					return nil, fmt.Errorf("front matter line %d: %w", i+2, err)
				}
				fm.lists[cur] = append(fm.lists[cur], v)
			}
			continue // nested mappings are not needed
		}
		key, val, ok := strings.Cut(t, ":")
		if !ok {
			return nil, fmt.Errorf("front matter line %d: expected 'key: value', got %q", i+2, t)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		cur = ""
		switch {
		case val == "" || val == "|" || val == ">":
			cur = key // a block list may follow
		case strings.HasPrefix(val, "["):
			items, err := yamlFlowList(val)
			if err != nil {
				return nil, fmt.Errorf("front matter line %d: %w", i+2, err)
			}
			fm.lists[key] = items
		default:
			v, err := yamlScalar(val)
			if err != nil {
				return nil, fmt.Errorf("front matter line %d: %w", i+2, err)
			}
			fm.scalars[key] = v
		}
	}
	return fm, nil
}

// yamlScalar unquotes a plain, single- or double-quoted scalar and drops a
// trailing comment.
func yamlScalar(s string) (string, error) {
	switch {
	case strings.HasPrefix(s, `"`):
		end := closingQuote(s)
		if end < 0 {
			return "", fmt.Errorf("unterminated string %s", s)
		}
		return strconv.Unquote(s[:end+1])
	case strings.HasPrefix(s, "'"):
		i := 1
		var b strings.Builder
		for i < len(s) {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i += 2
					continue
				}
				return b.String(), nil
			}
			b.WriteByte(s[i])
			i++
		}
		return "", fmt.Errorf("unterminated string %s", s)
	}
	if i := strings.Index(s, " #"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s), nil
}

func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// yamlFlowList parses a one-line [a, "b", c] list.
func yamlFlowList(s string) ([]string, error) {
	end := strings.LastIndex(s, "]")
	if end < 0 {
		return nil, fmt.Errorf("unterminated list %s", s)
	}
	var out []string
	for _, item := range strings.Split(s[1:end], ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		v, err := yamlScalar(item)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// yamlString quotes s for YAML when it is not a plain, unambiguous scalar.
func yamlString(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./+", r)) {
			plain = false
			break
		}
	}
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "~":
		plain = false
	}
	if plain && s[0] >= '0' && s[0] <= '9' {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			plain = false
		}
	}
	if plain && (s[0] == '-' || s[0] == '.') {
		plain = false
	}
	if plain {
		return s
	}
	return strconv.Quote(s)
}
