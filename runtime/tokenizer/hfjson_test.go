package tokenizer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// This file builds GGUF tokenizer metadata from HuggingFace tokenizer files
// the way llama.cpp's convert_hf_to_gguf.py does (../shared/reference/
// conversion.md §7), for tests: the fixtures' own GGUF dumps
// (testdata/fixtures/*/llama.cpp/f32.gguf.json) check that it does.

type hfAdded struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	Special    bool   `json:"special"`
	Normalized bool   `json:"normalized"`
	RStrip     bool   `json:"rstrip"`
	LStrip     bool   `json:"lstrip"`
}

type hfTokenizerJSON struct {
	Model struct {
		Type   string            `json:"type"`
		Vocab  map[string]int    `json:"vocab"`
		Merges []json.RawMessage `json:"merges"`
	} `json:"model"`
	AddedTokens   []hfAdded       `json:"added_tokens"`
	PostProcessor json.RawMessage `json:"post_processor"`
}

// hfOptions describe what the files alone do not say.
type hfOptions struct {
	pre        string // tokenizer.ggml.pre
	vocabSize  int    // 0: config.json vocab_size, else max id + 1
	spaceInSep bool   // DeepSeek v1 quirk: ▁ → space in non-normalized added tokens
}

func readJSON(t testing.TB, path string, v any) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return true
}

func looksSpecial(s string) bool {
	return strings.HasPrefix(s, "<|") && strings.HasSuffix(s, "|>") ||
		strings.HasPrefix(s, "<｜") && strings.HasSuffix(s, "｜>") ||
		s == "<pad>" || s == "<mask>" || strings.HasPrefix(s, "<unused")
}

// hfMetadata converts the tokenizer files of dir into tokenizer.* keys.
func hfMetadata(t testing.TB, dir string, opt hfOptions) *gguf.Metadata {
	t.Helper()
	var tj hfTokenizerJSON
	if !readJSON(t, filepath.Join(dir, "tokenizer.json"), &tj) {
		t.Fatalf("%s: no tokenizer.json", dir)
	}
	var cfg map[string]any
	readJSON(t, filepath.Join(dir, "config.json"), &cfg)
	var tcfg map[string]any
	readJSON(t, filepath.Join(dir, "tokenizer_config.json"), &tcfg)

	n := opt.vocabSize
	if n == 0 {
		if v, ok := cfg["vocab_size"].(float64); ok {
			n = int(v)
		}
	}
	md := gguf.NewMetadata()
	var tokens []string
	var types []int32
	spm := false
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.model")); err == nil {
		spm = true
		tokens, _ = spmVocab(t, dir, n, md) // spmVocab sets token_type itself
	} else {
		if n == 0 {
			for _, id := range tj.Model.Vocab {
				n = max(n, id+1)
			}
			for _, a := range tj.AddedTokens {
				n = max(n, a.ID+1)
			}
		}
		tokens = make([]string, n)
		types = make([]int32, n)
		for i := range tokens {
			tokens[i], types[i] = fmt.Sprintf("[PAD%d]", i), TypeUnused
		}
		for s, id := range tj.Model.Vocab {
			if id < n {
				tokens[id], types[id] = s, TypeNormal
			}
		}
		for _, a := range tj.AddedTokens {
			if a.ID >= n {
				continue
			}
			s := a.Content
			if !a.Normalized && opt.spaceInSep {
				s = strings.ReplaceAll(s, "\u2581", " ")
			}
			if a.Special || looksSpecial(s) {
				tokens[a.ID], types[a.ID] = s, TypeControl
			} else {
				tokens[a.ID], types[a.ID] = strings.ReplaceAll(s, "\u2581", " "), TypeUserDefined
			}
		}
		md.Set("tokenizer.ggml.model", gguf.String("gpt2"))
		md.Set("tokenizer.ggml.pre", gguf.String(opt.pre))
		md.Set("tokenizer.ggml.tokens", gguf.Array(tokens))
		md.Set("tokenizer.ggml.token_type", gguf.Array(types))
		merges := make([]string, len(tj.Model.Merges))
		for i, raw := range tj.Model.Merges {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				merges[i] = s
				continue
			}
			var pair []string
			if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
				t.Fatalf("merge %d: %s", i, raw)
			}
			merges[i] = strings.ReplaceAll(pair[0], " ", "Ġ") + " " + strings.ReplaceAll(pair[1], " ", "Ġ")
		}
		md.Set("tokenizer.ggml.merges", gguf.Array(merges))
	}

	// Special ids (§7.3), in the order bos, eos, unk, sep, pad.
	addedID := func(v any) (int, bool) {
		s, ok := v.(string)
		if m, isMap := v.(map[string]any); isMap {
			s, ok = m["content"].(string)
		}
		if !ok {
			return 0, false
		}
		for _, a := range tj.AddedTokens {
			if a.Content == s {
				return a.ID, true
			}
		}
		return 0, false
	}
	flags := map[string]bool{}
	var flagOrder []string
	setFlag := func(k string, v bool) {
		if _, ok := flags[k]; !ok {
			flagOrder = append(flagOrder, k)
		}
		flags[k] = v
	}
	var post struct {
		Type   string `json:"type"`
		Single []struct {
			SpecialToken *struct{ ID string } `json:"SpecialToken"`
		} `json:"single"`
		Pair []struct {
			SpecialToken *struct{ ID string } `json:"SpecialToken"`
		} `json:"pair"`
	}
	if len(tj.PostProcessor) > 0 && string(tj.PostProcessor) != "null" {
		_ = json.Unmarshal(tj.PostProcessor, &post)
	}
	if post.Type == "TemplateProcessing" && len(post.Single) > 1 {
		bos, _ := addedID(tcfg["bos_token"])
		first := post.Single[0].SpecialToken
		id, _ := addedID(func() any {
			if first == nil {
				return nil
			}
			return first.ID
		}())
		setFlag("bos", first != nil && id == bos)
		if len(post.Pair) > 0 {
			setFlag("sep", false)
		}
	}
	ids := []struct{ typ, key string }{{"bos", "bos"}, {"eos", "eos"}, {"unk", "unknown"}, {"sep", "seperator"}, {"pad", "padding"}}
	for _, k := range ids {
		if v, ok := tcfg["add_"+k.typ+"_token"].(bool); ok {
			setFlag(k.typ, v)
		}
	}
	for _, k := range ids {
		id, ok := addedID(tcfg[k.typ+"_token"])
		if !ok {
			if v, isNum := cfg[k.typ+"_token_id"].(float64); isNum {
				id, ok = int(v), true
			}
		}
		if ok && (!spm || id < len(tokens)) {
			md.Set("tokenizer.ggml."+k.key+"_token_id", gguf.Uint32(uint32(id)))
		}
	}
	for _, k := range flagOrder {
		md.Set("tokenizer.ggml.add_"+k+"_token", gguf.Bool(flags[k]))
	}
	if tmpl, ok := tcfg["chat_template"].(string); ok {
		md.Set("tokenizer.chat_template", gguf.String(tmpl))
	}
	return md
}

// spmVocab reads tokenizer.model (a SentencePiece ModelProto) and the added
// tokens as llama.cpp's Phi-3 path does (conversion.md §7.2).
func spmVocab(t testing.TB, dir string, n int, md *gguf.Metadata) ([]string, []int32) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	type piece struct {
		s     string
		score float32
		typ   int
	}
	var pieces []piece
	// Minimal protobuf walk: field 1 (pieces) of the ModelProto.
	for p := 0; p < len(b); {
		key, k := binary.Uvarint(b[p:])
		p += k
		field, wire := key>>3, key&7
		switch wire {
		case 0:
			_, k = binary.Uvarint(b[p:])
			p += k
		case 1:
			p += 8
		case 5:
			p += 4
		case 2:
			l, k := binary.Uvarint(b[p:])
			p += k
			msg := b[p : p+int(l)]
			p += int(l)
			if field != 1 {
				continue
			}
			pc := piece{typ: 1}
			for q := 0; q < len(msg); {
				key, k := binary.Uvarint(msg[q:])
				q += k
				switch key {
				case 1<<3 | 2:
					l, k := binary.Uvarint(msg[q:])
					q += k
					pc.s = string(msg[q : q+int(l)])
					q += int(l)
				case 2<<3 | 5:
					pc.score = math.Float32frombits(binary.LittleEndian.Uint32(msg[q:]))
					q += 4
				case 3<<3 | 0: //lint:ignore SA4016 field 3, wire type 0 (varint), spelled as protobuf tags are
					v, k := binary.Uvarint(msg[q:])
					q += k
					pc.typ = int(v)
				default:
					t.Fatalf("tokenizer.model: unexpected piece field %d", key)
				}
			}
			pieces = append(pieces, pc)
		default:
			t.Fatalf("tokenizer.model: wire type %d", wire)
		}
	}
	if n == 0 {
		n = len(pieces)
	}
	tokens := make([]string, n)
	scores := make([]float32, n)
	types := make([]int32, n)
	for i := range tokens {
		tokens[i], scores[i], types[i] = fmt.Sprintf("[PAD%d]", i), -10000, TypeUnused
	}
	for i, pc := range pieces {
		if i >= n {
			break
		}
		tokens[i], scores[i] = pc.s, pc.score
		switch pc.typ {
		case 2:
			types[i] = TypeUnknown
		case 3:
			types[i] = TypeControl
		case 5:
			types[i] = TypeUnused
		case 6:
			types[i] = TypeByte
		default:
			types[i] = TypeNormal
		}
	}
	var added map[string]int
	if readJSON(t, filepath.Join(dir, "added_tokens.json"), &added) {
		for s, id := range added {
			if id < n {
				tokens[id], scores[id], types[id] = s, -1000, TypeUserDefined
			}
		}
	}
	var tcfg struct {
		Decoder map[string]hfAdded `json:"added_tokens_decoder"`
	}
	if readJSON(t, filepath.Join(dir, "tokenizer_config.json"), &tcfg) {
		for k, a := range tcfg.Decoder {
			id, _ := strconv.Atoi(k)
			if id < n {
				tokens[id], scores[id] = a.Content, -1000
				types[id] = TypeUserDefined
				if a.Special {
					types[id] = TypeControl
				}
			}
		}
	}
	var tj hfTokenizerJSON
	if readJSON(t, filepath.Join(dir, "tokenizer.json"), &tj) {
		for _, a := range tj.AddedTokens {
			if a.ID < n {
				tokens[a.ID], scores[a.ID] = a.Content, -1000
				types[a.ID] = TypeUserDefined
				if a.Special {
					types[a.ID] = TypeControl
				}
			}
		}
	}
	md.Set("tokenizer.ggml.model", gguf.String("llama"))
	md.Set("tokenizer.ggml.pre", gguf.String("default"))
	md.Set("tokenizer.ggml.tokens", gguf.Array(tokens))
	md.Set("tokenizer.ggml.scores", gguf.Array(scores))
	md.Set("tokenizer.ggml.token_type", gguf.Array(types))
	return tokens, types
}

// pyJSON renders v as Python's json.dumps(v, ensure_ascii=False) does, the
// form the fixtures' GGUF dumps hash.
func pyJSON(v any) string {
	var sb strings.Builder
	var enc func(v any)
	enc = func(v any) {
		switch x := v.(type) {
		case string:
			sb.WriteByte('"')
			for _, r := range x {
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
						fmt.Fprintf(&sb, `\u%04x`, r)
					} else {
						sb.WriteRune(r)
					}
				}
			}
			sb.WriteByte('"')
		case float32:
			f := float64(x)
			s := strconv.FormatFloat(f, 'g', -1, 64)
			if e := math.Abs(f); e != 0 && (e < 1e-4 || e >= 1e16) {
				s = strconv.FormatFloat(f, 'e', -1, 64)
				s = strings.Replace(strings.Replace(s, "e-0", "e-", 1), "e+0", "e+", 1)
			} else if !strings.ContainsAny(s, ".e") {
				s += ".0"
			}
			sb.WriteString(s)
		case int32:
			sb.WriteString(strconv.Itoa(int(x)))
		case []any:
			sb.WriteByte('[')
			for i, e := range x {
				if i > 0 {
					sb.WriteString(", ")
				}
				enc(e)
			}
			sb.WriteByte(']')
		default:
			panic(fmt.Sprintf("pyJSON: %T", v))
		}
	}
	enc(v)
	return sb.String()
}

// checkAgainstDump compares the tokenizer.* keys of md with a fixture's
// llama.cpp GGUF dump; it returns the differences.
func checkAgainstDump(t testing.TB, md *gguf.Metadata, dumpPath string) []string {
	t.Helper()
	var dump struct {
		KV map[string]struct {
			Type   string          `json:"type"`
			Value  json.RawMessage `json:"value"`
			Count  int             `json:"count"`
			SHA256 string          `json:"sha256_json"`
		} `json:"kv"`
	}
	if !readJSON(t, dumpPath, &dump) {
		t.Fatalf("%s missing", dumpPath)
	}
	var diffs []string
	var keys []string
	for k := range dump.KV {
		if strings.HasPrefix(k, "tokenizer.") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		want := dump.KV[k]
		v, ok := md.Get(k)
		if !ok {
			diffs = append(diffs, k+": missing")
			continue
		}
		if want.SHA256 != "" {
			sum := sha256.Sum256([]byte(pyJSON(v.Elements())))
			if got := hex.EncodeToString(sum[:]); got != want.SHA256 || v.Len() != want.Count {
				diffs = append(diffs, fmt.Sprintf("%s: %d elements sha %s, want %d sha %s", k, v.Len(), got, want.Count, want.SHA256))
			}
			continue
		}
		got, _ := json.Marshal(v.Any())
		var a, b any
		_ = json.Unmarshal(got, &a)
		_ = json.Unmarshal(want.Value, &b)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			diffs = append(diffs, fmt.Sprintf("%s = %s, want %s", k, got, want.Value))
		}
	}
	for _, k := range md.Keys() {
		if _, ok := dump.KV[k]; !ok {
			diffs = append(diffs, k+": not in the llama.cpp file")
		}
	}
	return diffs
}
