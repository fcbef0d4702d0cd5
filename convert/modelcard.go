package convert

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/gguftool/gguftool/gguf"
)

// The model card (README.md YAML front matter) contributes authorship keys
// the way gguf-py's metadata.py reads it: license, tags (+ pipeline_tag),
// languages, base models, datasets and a few naming keys. Only the YAML
// that model cards use is understood: top-level "key: scalar", flow lists
// "[a, b]" and block lists of scalars; nested structures are skipped.

// modelCard is the front matter: scalars as strings, lists as []string.
type modelCard map[string]any

var cardKey = regexp.MustCompile(`^([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*:(?:\s+(.*))?$`)

// readModelCard parses dir/README.md's front matter; absent or malformed
// front matter gives an empty card.
func readModelCard(dir string) modelCard {
	b, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	if len(lines) == 0 || lines[0] != "---" {
		return nil
	}
	card := modelCard{}
	var listKey string // key whose block list is being read
	var list []string
	complexList := false
	indent := -1 // indentation of the list's items
	flush := func() {
		if listKey != "" && !complexList && list != nil {
			card[listKey] = list
		}
		listKey, list, complexList, indent = "", nil, false, -1
	}
	for _, line := range lines[1:] {
		if line == "---" {
			break
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if listKey != "" {
			t := strings.TrimLeft(line, " ")
			if strings.HasPrefix(t, "- ") || t == "-" {
				if indent < 0 {
					indent = len(line) - len(t)
				} else if len(line)-len(t) != indent {
					complexList = true // a nested list
					continue
				}
				item := strings.TrimSpace(strings.TrimPrefix(t, "-"))
				if cardKey.MatchString(item) && !isQuoted(item) {
					complexList = true // a list of mappings
					continue
				}
				list = append(list, yamlScalar(item))
				continue
			}
			if strings.HasPrefix(line, " ") {
				complexList = true // continuation of a nested item
				continue
			}
			flush()
		}
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			continue // nested mapping of a key we skip
		}
		m := cardKey.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key, val := m[1], strings.TrimSpace(stripComment(m[2]))
		switch {
		case val == "":
			listKey = key
		case strings.HasPrefix(val, "[") && strings.HasSuffix(val, "]"):
			var items []string
			for _, it := range strings.Split(val[1:len(val)-1], ",") {
				if it = strings.TrimSpace(it); it != "" {
					items = append(items, yamlScalar(it))
				}
			}
			card[key] = items
		case strings.HasPrefix(val, "{") || strings.HasPrefix(val, "|") || strings.HasPrefix(val, ">"):
			// mappings and block scalars: not used for GGUF keys
		default:
			card[key] = yamlScalar(val)
		}
	}
	flush()
	return card
}

func isQuoted(s string) bool {
	return len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'')
}

// stripComment removes a " #" comment outside quotes.
func stripComment(s string) string {
	if isQuoted(strings.TrimSpace(s)) {
		return s
	}
	if i := strings.Index(s, " #"); i >= 0 {
		return s[:i]
	}
	return s
}

// yamlScalar unquotes a scalar. Model cards write "no" quoted when they
// mean Norwegian (gguf-py quotes "- no" before parsing for that reason).
func yamlScalar(s string) string {
	s = strings.TrimSpace(stripComment(s))
	if isQuoted(s) {
		inner := s[1 : len(s)-1]
		if s[0] == '\'' {
			return strings.ReplaceAll(inner, "''", "'")
		}
		return strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(inner)
	}
	return s
}

func (c modelCard) str(key string) (string, bool) {
	switch v := c[key].(type) {
	case string:
		return v, true
	case []string:
		return strings.Join(v, ","), true
	}
	return "", false
}

func (c modelCard) list(key string) ([]string, bool) {
	switch v := c[key].(type) {
	case string:
		return []string{v}, true
	case []string:
		return v, true
	}
	return nil, false
}

// cardEntry is one base model or dataset.
type cardEntry struct{ name, organization, version, repoURL string }

var hfURL = regexp.MustCompile(`^https?://huggingface.co/([^/]+/[^/]+)$`)

// cardEntries resolves base_model / datasets ids as metadata.py does.
func cardEntries(ids []string, total int64, urlPrefix string) []cardEntry {
	var out []cardEntry
	for _, id := range ids {
		var e cardEntry
		if strings.HasPrefix(id, "http://") || strings.HasPrefix(id, "https://") || strings.HasPrefix(id, "ssh://") {
			e.repoURL = id
			if m := hfURL.FindStringSubmatch(id); m != nil {
				full, org, _, _, ver, _ := modelIDComponents(m[1], total)
				e.name, e.version = idToTitle(full), ver
				if org != "" {
					e.organization = idToTitle(org)
				}
			}
		} else {
			full, org, _, _, ver, _ := modelIDComponents(id, total)
			if full != "" {
				e.name = idToTitle(full)
			}
			if org != "" {
				e.organization = idToTitle(org)
			}
			e.version = ver
			if org != "" && full != "" {
				e.repoURL = urlPrefix + org + "/" + full
			}
		}
		out = append(out, e)
	}
	return out
}

// applyCard fills authorship from the card (fields already set win).
func (a *authorship) applyCard(c modelCard, total int64) {
	if c == nil {
		return
	}
	set := func(dst *string, keys ...string) {
		for _, k := range keys {
			if *dst != "" {
				return
			}
			if v, ok := c.str(k); ok {
				*dst = v
			}
		}
	}
	set(&a.Name, "name", "model_name")
	set(&a.Author, "author", "model_author", "model_creator")
	set(&a.Version, "version", "model_version")
	set(&a.Organization, "organization", "model_organization")
	set(&a.Description, "description", "model_description")
	set(&a.Finetune, "finetune", "model_finetune")
	set(&a.Basename, "basename", "model_basename", "model_type")
	set(&a.SizeLabel, "size_label", "model_size_label")
	set(&a.License, "license")
	set(&a.LicenseName, "license_name")
	set(&a.LicenseLink, "license_link")
	for _, k := range []string{"base_model", "base_models", "base_model_sources"} {
		if ids, ok := c.list(k); ok {
			a.BaseModels = cardEntries(ids, total, "https://huggingface.co/")
			a.hasBaseModels = true
			break
		}
	}
	for _, k := range []string{"datasets", "dataset", "dataset_sources"} {
		if ids, ok := c.list(k); ok {
			a.Datasets = cardEntries(ids, total, "https://huggingface.co/datasets/")
			a.hasDatasets = true
			break
		}
	}
	for _, k := range []string{"tags", "pipeline_tag"} {
		if v, ok := c.list(k); ok {
			a.Tags = append(a.Tags, v...)
		}
	}
	for _, k := range []string{"languages", "language"} {
		if v, ok := c.list(k); ok {
			a.Languages = append(a.Languages, v...)
		}
	}
}

// addCardKeys writes the keys after general.size_label in gguf-py's order.
func addCardKeys(md *gguf.Metadata, a authorship) {
	for _, kv := range []struct{ k, v string }{
		{"general.license", a.License},
		{"general.license.name", a.LicenseName},
		{"general.license.link", a.LicenseLink},
	} {
		if kv.v != "" {
			md.Set(kv.k, gguf.String(kv.v))
		}
	}
	entries := func(prefix string, es []cardEntry, has bool) {
		if !has {
			return
		}
		md.Set("general."+prefix+".count", gguf.Uint32(uint32(len(es))))
		for i, e := range es {
			p := "general." + prefix + "." + strconv.Itoa(i) + "."
			for _, kv := range []struct{ k, v string }{
				{"name", e.name}, {"version", e.version}, {"organization", e.organization}, {"repo_url", e.repoURL},
			} {
				if kv.v != "" {
					md.Set(p+kv.k, gguf.String(kv.v))
				}
			}
		}
	}
	entries("base_model", a.BaseModels, a.hasBaseModels)
	entries("dataset", a.Datasets, a.hasDatasets)
	if len(a.Tags) > 0 {
		md.Set("general.tags", gguf.Array(a.Tags))
	}
	if len(a.Languages) > 0 {
		md.Set("general.languages", gguf.Array(a.Languages))
	}
}
