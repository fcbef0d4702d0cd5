package convert

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/gguftool/gguftool/gguf"
)

// Authorship metadata (general.name, basename, size_label ...) derived as
// gguf-py's metadata.py does when no model card or override is given: from
// config.json's _name_or_path when it looks like a model id, else from the
// model directory's name, and a size label computed from the tensors.

// authorship holds the general.* naming keys; empty fields are not written.
type authorship struct {
	Name, Author, Version, Organization, Finetune, Basename, Description, SizeLabel string
	License, LicenseName, LicenseLink                                               string
	BaseModels, Datasets                                                            []cardEntry
	hasBaseModels, hasDatasets                                                      bool
	Tags, Languages                                                                 []string
}

// Overrides replace derived authorship fields (like --metadata in
// llama.cpp); empty fields are derived.
type Overrides struct {
	Name, Organization, Basename, Finetune, Version, SizeLabel string
}

var (
	reVersion  = regexp.MustCompile(`(?i)^(v|iter)?\d+([.]\d+)*$`)
	reQuant    = regexp.MustCompile(`(?i)^(i?q\d(_\w)*|b?fp?(16|32))$`)
	reSize     = regexp.MustCompile(`(?i)^(([A]|\d+[x])?\d+([._]\d+)?[KMBT][\d]?|small|mini|medium|large|x?xl)$`)
	reFinetune = regexp.MustCompile(`(?i)^(chat|instruct|vision|lora)$`)
	reTitleKep = regexp.MustCompile(`^(v\d+(?:\.\d+)*|\d.*)$`)
)

// idToTitle is metadata.py's id_to_title: words title-cased unless they
// are already mixed-case or look like versions/numbers.
func idToTitle(s string) string {
	words := strings.Fields(strings.ReplaceAll(strings.TrimSpace(s), "-", " "))
	for i, w := range words {
		if isLower(w) && !reTitleKep.MatchString(w) {
			words[i] = pyTitle(w)
		}
	}
	return strings.Join(words, " ")
}

// isLower is Python's str.islower: at least one cased character and no
// uppercase ones.
func isLower(s string) bool {
	cased := false
	for _, r := range s {
		if unicode.IsUpper(r) || unicode.IsTitle(r) {
			return false
		}
		if unicode.IsLower(r) {
			cased = true
		}
	}
	return cased
}

// pyTitle is Python's str.title: a letter following a non-letter is
// upper-cased, other letters lower-cased.
func pyTitle(s string) string {
	var b strings.Builder
	prevCased := false
	for _, r := range s {
		if unicode.IsLetter(r) {
			if prevCased {
				b.WriteRune(unicode.ToLower(r))
			} else {
				b.WriteRune(unicode.ToTitle(r))
			}
			prevCased = true
		} else {
			b.WriteRune(r)
			prevCased = false
		}
	}
	return b.String()
}

// modelIDComponents is metadata.py's get_model_id_components.
func modelIDComponents(id string, totalParams int64) (full, org, basename, finetune, version, sizeLabel string) {
	if id == "" {
		return
	}
	if strings.Contains(id, " ") {
		return id, "", "", "", "", ""
	}
	full = id
	if o, rest, ok := strings.Cut(id, "/"); ok {
		org, full = o, rest
	}
	if strings.HasPrefix(org, ".") {
		org = ""
	}
	var parts []string
	for _, p := range strings.Split(full, "-") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	types := make([]map[string]bool, len(parts))
	for i, part := range parts {
		t := map[string]bool{}
		types[i] = t
		switch {
		case reVersion.MatchString(part):
			t["version"] = true
		case reQuant.MatchString(part):
			t["type"] = true
			parts[i] = strings.ToUpper(part)
		case i > 0 && reSize.MatchString(part):
			part = strings.ReplaceAll(part, "_", ".")
			if n := len(part); n >= 2 && isDecimal(part[n-1]) {
				// bloom-7b1 notation: 7b1 -> 7.1b
				part = part[:n-2] + "." + part[n-1:] + part[n-2:n-1]
			}
			if n := len(part); n > 1 && isDecimal(part[n-2]) && strings.ContainsRune("kmbt", rune(part[n-1])) {
				part = part[:n-1] + strings.ToUpper(part[n-1:])
			}
			if totalParams != 0 {
				if v, err := strconv.ParseFloat(part[:len(part)-1], 64); err == nil {
					if k := strings.IndexByte(" KMBT", part[len(part)-1]); k > 0 {
						label := v * math.Pow(1000, float64(k))
						total := math.Abs(float64(totalParams))
						if math.Abs(label-total) <= total*7/8 {
							t["size_label"] = true
						}
					}
				}
			}
			if len(t) == 0 {
				t["finetune"] = true
			}
			parts[i] = part
		case i > 0 && reFinetune.MatchString(part):
			t["finetune"] = true
		}
	}
	// Word-based size labels are dropped when a numeric one exists.
	numeric := false
	for i, p := range parts {
		if types[i]["size_label"] && strings.IndexFunc(p, unicode.IsDigit) >= 0 {
			numeric = true
		}
	}
	if numeric {
		for i, p := range parts {
			if types[i]["size_label"] && strings.IndexFunc(p, func(r rune) bool { return !unicode.IsLetter(r) }) < 0 {
				delete(types[i], "size_label")
			}
		}
	}
	atStart := true
	for i, p := range parts {
		t := types[i]
		if atStart && ((len(t) == 0 && unicode.IsLetter([]rune(p)[0])) || t["version"]) {
			t["basename"] = true
		} else {
			atStart = false
			if len(t) == 0 {
				t["finetune"] = true
			}
		}
	}
	for i := len(parts) - 1; i >= 0; i-- {
		if types[i]["basename"] && len(types[i]) > 1 {
			delete(types[i], "basename")
		} else {
			break
		}
	}
	join := func(pred func(t map[string]bool) bool, dedup bool) string {
		var out []string
		seen := map[string]bool{}
		for i, p := range parts {
			if pred(types[i]) && !(dedup && seen[p]) {
				seen[p] = true
				out = append(out, p)
			}
		}
		return strings.Join(out, "-")
	}
	basename = join(func(t map[string]bool) bool { return t["basename"] }, false)
	sizeLabel = join(func(t map[string]bool) bool { return t["size_label"] }, true)
	finetune = join(func(t map[string]bool) bool { return t["finetune"] }, false)
	version = join(func(t map[string]bool) bool { return t["version"] && !t["basename"] }, false)
	if sizeLabel == "" && finetune == "" && version == "" {
		basename = ""
	}
	return
}

func isDecimal(b byte) bool { return b >= '0' && b <= '9' }

// paramCounts is gguf-py's get_total_parameter_count over the planned
// tensors.
func paramCounts(ts []*PlannedTensor) (total, shared, expert int64, nExpert int64) {
	var expertSum, nTensors int64
	for _, t := range ts {
		n := int64(t.NumElements())
		total += n
		if strings.Contains(t.Name, "_exps.") && len(t.Dims) >= 3 {
			e := int64(t.Dims[2])
			expert += n / e
			expertSum += e
			nTensors++
		} else {
			shared += n
		}
	}
	if nTensors > 0 {
		nExpert = expertSum / nTensors
	}
	return
}

// roundedCount is gguf-py's model_weight_count_rounded_notation(n, 2).
func roundedCount(n int64) string {
	x := float64(n)
	var scaled float64
	var suffix string
	switch {
	case x > 1e12:
		scaled, suffix = x*1e-12, "T"
	case x > 1e9:
		scaled, suffix = x*1e-9, "B"
	case x > 1e6:
		scaled, suffix = x*1e-6, "M"
	default:
		scaled, suffix = x*1e-3, "K"
	}
	digits := strings.TrimLeft(strconv.FormatInt(int64(math.RoundToEven(scaled)), 10), "0")
	fix := max(2-len(digits), 0)
	return strconv.FormatFloat(scaled, 'f', fix, 64) + suffix
}

// sizeLabel is gguf-py's size_label.
func sizeLabel(total, shared, expert, nExpert int64) string {
	if nExpert > 0 {
		return fmt.Sprintf("%dx%s", nExpert, roundedCount(shared+expert))
	}
	return roundedCount(total)
}

// deriveAuthorship fills the naming keys for a model directory: overrides
// first, then the model card, then config.json's _name_or_path, then the
// directory name.
func deriveAuthorship(dir string, cfg *config, ts []*PlannedTensor, ov Overrides) authorship {
	total, shared, expert, nExpert := paramCounts(ts)
	a := authorship{Name: ov.Name, Organization: ov.Organization, Basename: ov.Basename,
		Finetune: ov.Finetune, Version: ov.Version, SizeLabel: ov.SizeLabel}
	a.applyCard(readModelCard(dir), total)
	apply := func(id string) {
		full, org, base, ft, ver, size := modelIDComponents(id, total)
		set := func(dst *string, v string) {
			if *dst == "" {
				*dst = v
			}
		}
		if full != "" {
			set(&a.Name, idToTitle(full))
		}
		if org != "" {
			set(&a.Organization, idToTitle(org))
		}
		set(&a.Basename, base)
		set(&a.Finetune, ft)
		set(&a.Version, ver)
		set(&a.SizeLabel, size)
	}
	if s, ok := cfg.optString("_name_or_path"); ok && s != "" && strings.Count(s, "/") <= 1 {
		apply(s)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		apply(filepath.Base(abs))
	}
	if a.SizeLabel == "" && total > 0 {
		a.SizeLabel = sizeLabel(total, shared, expert, nExpert)
	}
	return a
}

// addAuthorship writes the keys in gguf-py's order.
func addAuthorship(md *gguf.Metadata, a authorship) {
	for _, kv := range []struct{ k, v string }{
		{"general.name", a.Name},
		{"general.author", a.Author},
		{"general.version", a.Version},
		{"general.organization", a.Organization},
		{"general.finetune", a.Finetune},
		{"general.basename", a.Basename},
		{"general.description", a.Description},
		{"general.size_label", a.SizeLabel},
	} {
		if kv.v != "" {
			md.Set(kv.k, gguf.String(kv.v))
		}
	}
	addCardKeys(md, a)
}

// addSampling writes general.sampling.* from generation_config.json.
func addSampling(md *gguf.Metadata, dir string) error {
	path := filepath.Join(dir, "generation_config.json")
	m, err := readJSONMap(path)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return err
	}
	g := &config{path: path, m: m}
	if s, ok := g.optString("sequence"); ok && s != "" {
		md.Set("general.sampling.sequence", gguf.String(s))
	}
	type item struct {
		key   string
		src   []string
		isInt bool
	}
	for _, it := range []item{
		{"top_k", []string{"top_k"}, true},
		{"top_p", []string{"top_p"}, false},
		{"min_p", []string{"min_p"}, false},
		{"xtc_probability", []string{"xtc_probability"}, false},
		{"xtc_threshold", []string{"xtc_threshold"}, false},
		{"temp", []string{"temperature"}, false},
		{"penalty_last_n", []string{"penalty_last_n"}, true},
		{"penalty_repeat", []string{"penalty_repeat", "repetition_penalty"}, false},
		{"mirostat", []string{"mirostat"}, true},
		{"mirostat_tau", []string{"mirostat_tau"}, false},
		{"mirostat_eta", []string{"mirostat_eta"}, false},
	} {
		if it.isInt {
			v, ok, err := g.optInt(it.src...)
			if err != nil {
				return err
			}
			if ok {
				md.Set("general.sampling."+it.key, gguf.Int32(int32(v)))
			}
			continue
		}
		v, ok, err := g.optFloat(it.src...)
		if err != nil {
			return err
		}
		if ok {
			md.Set("general.sampling."+it.key, gguf.Float32(float32(v)))
		}
	}
	return nil
}
