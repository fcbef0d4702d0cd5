package convert

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gguftool/gguftool/gguf"
)

// specialVocab reproduces gguf-py's SpecialVocab: merges, special token ids,
// add_*_token flags and the chat template, gathered from tokenizer.json,
// tokenizer_config.json, chat_template.{jinja,json} and config.json, in the
// order llama.cpp finds them (the order decides the order of the keys).
type specialVocab struct {
	dir        string
	loadMerges bool
	nVocab     int // 0: no bound (gguf-py's n_vocab=None)

	merges       []string
	ids          []specialEntry[uint32]
	flags        []specialEntry[bool]
	chatTemplate any // nil, a string, or a list of {name, template}
	types        []string
}

type specialEntry[T any] struct {
	typ string
	val T
}

// specialIDKeys maps SpecialVocab's token types to the GGUF keys gguf-py's
// writer has methods for; "cls" has none and is dropped, as in llama.cpp.
var specialIDKeys = map[string]string{
	"bos":  "tokenizer.ggml.bos_token_id",
	"eos":  "tokenizer.ggml.eos_token_id",
	"unk":  "tokenizer.ggml.unknown_token_id",
	"sep":  "tokenizer.ggml.seperator_token_id", // sic, llama.cpp's spelling
	"pad":  "tokenizer.ggml.padding_token_id",
	"mask": "tokenizer.ggml.mask_token_id",
	"eot":  "tokenizer.ggml.eot_token_id",
	"eom":  "tokenizer.ggml.eom_token_id",
}

// specialFlagKeys: only these add_*_token flags have writer methods.
var specialFlagKeys = map[string]string{
	"bos": "tokenizer.ggml.add_bos_token",
	"eos": "tokenizer.ggml.add_eos_token",
	"sep": "tokenizer.ggml.add_sep_token",
}

// loadSpecialVocab gathers the special-token metadata of dir. tok is the
// parsed tokenizer.json (nil when absent) and tokCfg tokenizer_config.json
// (nil when absent); tokCfg may be modified, as llama.cpp modifies its copy.
func loadSpecialVocab(dir string, tok *tokenizerJSON, tokCfg map[string]any, loadMerges bool, nVocab int) (*specialVocab, error) {
	sv := &specialVocab{
		dir:        dir,
		loadMerges: loadMerges,
		nVocab:     nVocab,
		types:      []string{"bos", "eos", "unk", "sep", "pad", "cls", "mask"},
	}
	if err := sv.fromTokenizerFiles(tok, tokCfg); err != nil {
		return nil, err
	}
	if err := sv.fromConfigJSON(); err != nil {
		return nil, err
	}
	if loadMerges && len(sv.merges) == 0 {
		if err := sv.fromMergesTxt(); err != nil {
			return nil, err
		}
	}
	return sv, nil
}

func (sv *specialVocab) setFlag(typ string, v bool) {
	for i := range sv.flags {
		if sv.flags[i].typ == typ {
			sv.flags[i].val = v
			return
		}
	}
	sv.flags = append(sv.flags, specialEntry[bool]{typ, v})
}

// setSpecialToken records id v for typ the first time a valid one is seen.
func (sv *specialVocab) setSpecialToken(typ string, v any, source string) error {
	id, ok := pyInt(v)
	if !ok {
		return nil
	}
	if id < 0 {
		return fmt.Errorf("%s: invalid value for special token type %s: %d (expected a non-negative token id)", source, typ, id)
	}
	if sv.nVocab > 0 && id >= int64(sv.nVocab) {
		return nil // llama.cpp skips out-of-range ids on the SentencePiece path
	}
	if id > math.MaxUint32 {
		return fmt.Errorf("%s: special token type %s: id %d does not fit the UINT32 key", source, typ, id)
	}
	for _, e := range sv.ids {
		if e.typ == typ {
			return nil
		}
	}
	sv.ids = append(sv.ids, specialEntry[uint32]{typ, uint32(id)})
	return nil
}

func (sv *specialVocab) fromTokenizerFiles(tok *tokenizerJSON, cfg map[string]any) error {
	var added []addedToken
	if tok != nil {
		if sv.loadMerges {
			m, err := tok.mergeStrings()
			if err != nil {
				return err
			}
			sv.merges = m
		}
		added = tok.AddedTokens
	}
	if tok != nil {
		sv.readPostProcessor(tok.PostProcessor, cfg)
	}
	if !pyTruthy(cfg) {
		return nil
	}
	if err := sv.readChatTemplate(cfg); err != nil {
		return err
	}
	for _, typ := range sv.types {
		if b, ok := cfg["add_"+typ+"_token"].(bool); ok {
			sv.setFlag(typ, b)
		}
		var content string
		switch e := cfg[typ+"_token"].(type) {
		case string:
			content = e
		case map[string]any:
			c, ok := e["content"].(string)
			if !ok {
				continue
			}
			content = c
		default:
			continue
		}
		// Only tokens listed in tokenizer.json's added_tokens resolve, the first wins.
		for _, a := range added {
			if a.Content == content {
				if err := sv.setSpecialToken(typ, a.idValue(), "tokenizer.json added_tokens"); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

// readPostProcessor derives add_bos/add_eos/add_sep from tokenizer.json's
// post_processor the way llama.cpp's "crude parsing" does, including its
// EOS/EOT juggling when the template's trailing token is not the EOS.
func (sv *specialVocab) readPostProcessor(post any, cfg map[string]any) {
	bos, cls, eos, sep := cfg["bos_token"], cfg["cls_token"], cfg["eos_token"], cfg["sep_token"]
	cfgTruthy := pyTruthy(cfg)
	if !pyTruthy(bos) && pyTruthy(cls) && cfgTruthy {
		bos = cls
		cfg["bos_token"] = cls
	}
	if !pyTruthy(eos) && pyTruthy(sep) && cfgTruthy {
		eos = sep
		cfg["eos_token"] = sep
	}
	pp := tokObject(post)
	if !pyTruthy(pp) {
		return
	}
	processors := []any{pp}
	if ps, ok := pp["processors"]; ok {
		processors = tokList(ps)
	}
	for _, p := range processors {
		proc := tokObject(p)
		switch proc["type"] {
		case "RobertaProcessing":
			sv.setFlag("bos", true)
			sv.setFlag("eos", true)
			sv.setFlag("sep", true)
			if !pyTruthy(cls) && cfgTruthy {
				cls = firstOr(proc, "cls", bos)
				cfg["cls_token"] = cls
			}
			if !pyTruthy(sep) && cfgTruthy {
				sep = firstOr(proc, "sep", eos)
				cfg["sep_token"] = sep
			}
		case "TemplateProcessing":
			single := tokList(proc["single"])
			pair := tokList(proc["pair"])
			var first, last any
			if len(single) > 1 {
				if first = templateSpecial(single[0]); pyTruthy(first) {
					if !cfgTruthy {
						bos = first
					}
					sv.setFlag("bos", pyIn(first, bos, cls))
				}
				if last = templateSpecial(single[len(single)-1]); pyTruthy(last) {
					if !cfgTruthy {
						eos = last
					} else if !pyEqual(last, eos) {
						// The template ends with another token than the EOS: llama.cpp
						// keeps the old EOS as EOT (or EOM) and makes that token the EOS.
						switch {
						case !slices.Contains(sv.types, "eot"):
							sv.types = append(sv.types, "eot")
							cfg["eot_token"] = eos
						case !slices.Contains(sv.types, "eom"):
							sv.types = append(sv.types, "eom")
							cfg["eom_token"] = eos
						}
						cfg["eos_token"] = last
						eos = last
					}
					sv.setFlag("eos", pyEqual(last, eos))
				}
			}
			if len(pair) == 0 {
				continue
			}
			start, stop := 0, len(pair)
			if pyTruthy(first) && pyEqual(templateSpecial(pair[0]), first) {
				start = 1
			}
			if pyTruthy(last) && pyEqual(templateSpecial(pair[len(pair)-1]), last) {
				stop = len(pair) - 1
			}
			if start >= stop {
				continue
			}
			inner := pair[start:stop]
			a := tokObject(tokObject(inner[0])["Sequence"])["id"]
			b := tokObject(tokObject(inner[len(inner)-1])["Sequence"])["id"]
			if len(inner) < 3 || !pyEqual(a, "A") || !pyEqual(b, "B") {
				continue
			}
			mid := inner[1 : len(inner)-1]
			addSep := false
			if e := templateSpecial(mid[0]); pyTruthy(e) && pyIn(e, sep, eos) && !pyTruthy(last) {
				addSep = true
			}
			if len(mid) == 2 {
				if e := templateSpecial(mid[1]); pyTruthy(e) && pyIn(e, sep, eos) {
					addSep = true
				}
			}
			sv.setFlag("sep", addSep)
			if addSep && !pyTruthy(sep) && cfgTruthy {
				cfg["sep_token"] = eos
			}
		}
	}
}

// templateSpecial is item.get('SpecialToken', {}).get('id').
func templateSpecial(item any) any {
	return tokObject(tokObject(item)["SpecialToken"])["id"]
}

// firstOr is proc.get(key, [def])[0].
func firstOr(proc map[string]any, key string, def any) any {
	v, ok := proc[key]
	if !ok {
		return def
	}
	if l := tokList(v); len(l) > 0 {
		return l[0]
	}
	return nil
}

// readChatTemplate applies §7.4: tokenizer_config's chat_template, else
// chat_template.jinja (plus additional_chat_templates/*.jinja), else
// chat_template.json.
func (sv *specialVocab) readChatTemplate(cfg map[string]any) error {
	var alt any
	jinja := filepath.Join(sv.dir, "chat_template.jinja")
	ctJSON := filepath.Join(sv.dir, "chat_template.json")
	switch {
	case tokIsFile(jinja):
		text, err := readPythonText(jinja)
		if err != nil {
			return err
		}
		alt = text
		more, _ := filepath.Glob(filepath.Join(sv.dir, "additional_chat_templates", "*.jinja"))
		slices.Sort(more) // Python's glob order is the directory's; sorted is stable
		if len(more) > 0 {
			list := []any{map[string]any{"name": "default", "template": text}}
			for _, p := range more {
				t, err := readPythonText(p)
				if err != nil {
					return err
				}
				base := filepath.Base(p)
				list = append(list, map[string]any{"name": strings.TrimSuffix(base, filepath.Ext(base)), "template": t})
			}
			alt = list
		}
	case tokIsFile(ctJSON):
		m, err := readTokJSONObject(ctJSON)
		if err != nil {
			return err
		}
		alt = m["chat_template"]
	}
	ct, ok := cfg["chat_template"]
	if !ok {
		ct = alt
	}
	switch ct.(type) {
	case nil, string, []any:
		sv.chatTemplate = ct
	}
	// Any other type: llama.cpp warns and ignores it.
	return nil
}

// readPythonText reads a UTF-8 text file as Python's open() in text mode
// does: universal newlines turn "\r\n" and "\r" into "\n".
func readPythonText(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(data) {
		return "", fmt.Errorf("%s: not valid UTF-8", path)
	}
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n"), nil
}

func (sv *specialVocab) fromConfigJSON() error {
	path := filepath.Join(sv.dir, "config.json")
	cfg, err := readTokJSONObject(path)
	if err != nil || cfg == nil {
		return err
	}
	for _, typ := range sv.types {
		v := cfg[typ+"_token_id"]
		if v == nil {
			if tc, ok := cfg["text_config"]; ok {
				v = tokObject(tc)[typ+"_token_id"]
			}
		}
		if err := sv.setSpecialToken(typ, v, path); err != nil {
			return err
		}
	}
	return nil
}

// fromMergesTxt is the fallback for tokenizers without merges in
// tokenizer.json: one "a b" pair per line, an optional "#version" header.
func (sv *specialVocab) fromMergesTxt() error {
	path := filepath.Join(sv.dir, "merges.txt")
	if !tokIsFile(path) {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !utf8.Valid(data) {
		return fmt.Errorf("%s: not valid UTF-8", path)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	var merges []string
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first {
			first = false
			if strings.HasPrefix(line, "#") {
				continue
			}
		}
		if line == "" {
			continue
		}
		parts := strings.Fields(line)
		if len(parts) != 2 {
			continue // llama.cpp warns "Entry malformed, ignoring"
		}
		merges = append(merges, parts[0]+" "+parts[1])
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	sv.merges = merges
	return nil
}

// addTo appends the keys in gguf-py's SpecialVocab.add_to_gguf order:
// merges, ids, add_* flags, chat template(s).
func (sv *specialVocab) addTo(l *tokKVList) error {
	l.strings("tokenizer.ggml.merges", sv.merges)
	for _, e := range sv.ids {
		if key, ok := specialIDKeys[e.typ]; ok {
			l.set(key, gguf.Uint32(e.val))
		}
	}
	for _, e := range sv.flags {
		if key, ok := specialFlagKeys[e.typ]; ok {
			l.set(key, gguf.Bool(e.val))
		}
	}
	if sv.chatTemplate != nil {
		return addChatTemplate(l, sv.chatTemplate)
	}
	return nil
}

// addChatTemplate is gguf-py's add_chat_template: a list of named templates
// becomes tokenizer.chat_template.<name> keys plus tokenizer.chat_templates,
// and its "default" entry tokenizer.chat_template.
func addChatTemplate(l *tokKVList, v any) error {
	if s, ok := v.(string); ok {
		l.str("tokenizer.chat_template", s)
		return nil
	}
	var def *string
	var names []string
	for i, c := range tokList(v) {
		choice, ok := c.(map[string]any)
		if !ok {
			return fmt.Errorf("tokenizer_config.json: chat_template[%d]: expected an object with name and template, got %s", i, pyTypeName(c))
		}
		rawName, ok := choice["name"]
		if !ok {
			rawName = ""
		}
		name, ok := rawName.(string)
		if !ok {
			return fmt.Errorf("tokenizer_config.json: chat_template[%d].name: expected a string, got %s", i, pyTypeName(rawName))
		}
		tmpl, present := choice["template"]
		name = sanitizeTemplateName(name)
		if name == "" || !present || tmpl == nil {
			continue
		}
		ts, ok := tmpl.(string)
		if !ok {
			return fmt.Errorf("tokenizer_config.json: chat_template[%d].template: expected a string, got %s", i, pyTypeName(tmpl))
		}
		if name == "default" {
			def = &ts
			continue
		}
		if !slices.Contains(names, name) {
			// llama.cpp collects names in a Python set, whose order varies
			// between runs; first appearance is the deterministic choice.
			names = append(names, name)
		}
		l.str("tokenizer.chat_template."+name, ts)
	}
	l.strings("tokenizer.chat_templates", names)
	if def != nil {
		l.str("tokenizer.chat_template", *def)
	}
	return nil
}

// sanitizeTemplateName keeps ASCII letters and digits and turns every other
// character into '_'.
func sanitizeTemplateName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
