package convert

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// repoRoot finds the module root (the directory holding go.mod) above the
// test's working directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// tokenizerFixtures maps the fixture folders to their GGUF architecture.
var tokenizerFixtures = []struct{ dir, arch string }{
	{"gpt-oss", "gpt-oss"},
	{"phimoe", "phimoe"},
	{"deepseek-moe", "deepseek"},
	{"deepseek-v2-lite", "deepseek2"},
}

// fixtureVocabSize reads config.json's vocab_size.
func fixtureVocabSize(t testing.TB, dir string) int {
	t.Helper()
	cfg, err := readTokJSONObject(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	n, ok := pyInt(cfg["vocab_size"])
	if !ok {
		t.Fatalf("%s/config.json: no integer vocab_size", dir)
	}
	return int(n)
}

// dumpedKV is one metadata entry of a llama.cpp dump (<outtype>.gguf.json).
type dumpedKV struct {
	Type   string          `json:"type"`
	Value  json.RawMessage `json:"value"`
	Count  *int            `json:"count"`
	First  json.RawMessage `json:"first"`
	Last   json.RawMessage `json:"last"`
	SHA256 string          `json:"sha256_json"`
}

// readDumpTokenizerKVs returns the tokenizer.* entries of a dump, in order.
func readDumpTokenizerKVs(t testing.TB, path string) ([]string, map[string]dumpedKV) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var whole struct {
		KV json.RawMessage `json:"kv"`
	}
	if err := json.Unmarshal(data, &whole); err != nil {
		t.Fatal(err)
	}
	members, err := orderedMembers(whole.KV)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	kvs := map[string]dumpedKV{}
	for _, m := range members {
		if !strings.HasPrefix(m.key, "tokenizer.") {
			continue
		}
		var d dumpedKV
		if err := json.Unmarshal(m.value.(json.RawMessage), &d); err != nil {
			t.Fatalf("%s: %s: %v", path, m.key, err)
		}
		keys = append(keys, m.key)
		kvs[m.key] = d
	}
	return keys, kvs
}

// typeName renders a value's type as the dumps do: "UINT32", "ARRAY[INT32]".
func typeName(v gguf.Value) string {
	if v.Type() == gguf.ValueArray {
		return "ARRAY[" + v.ElemType().String() + "]"
	}
	return v.Type().String()
}

// pyJSONOf renders a Go value as Python's json.dumps would (for comparison
// with the dump's JSON-decoded first/last/value lists).
func pyJSONOf(xs []any) string {
	s, err := pyJSONDumps(xs)
	if err != nil {
		return err.Error()
	}
	return s
}

// normalizeDumpJSON re-renders a dump's JSON list in Python's format.
func normalizeDumpJSON(raw json.RawMessage, elem gguf.ValueType) (string, error) {
	v, err := decodeTokJSON(raw)
	if err != nil {
		return "", err
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	out := make([]any, len(list))
	for i, x := range list {
		switch y := x.(type) {
		case json.Number:
			if elem == gguf.ValueFloat32 || elem == gguf.ValueFloat64 {
				f, err := y.Float64()
				if err != nil {
					return "", err
				}
				out[i] = f
			} else {
				n, err := y.Int64()
				if err != nil {
					return "", err
				}
				out[i] = n
			}
		default:
			out[i] = x
		}
	}
	return pyJSONOf(out), nil
}

// compareWithDump checks kvs against llama.cpp's dump: same keys in the same
// order, same types, and equal values (long arrays through count, first 5,
// last 3 and the sha256 of Python's JSON rendering).
func compareWithDump(t *testing.T, kvs []gguf.KV, dumpPath string) {
	t.Helper()
	wantKeys, want := readDumpTokenizerKVs(t, dumpPath)
	var gotKeys []string
	for _, kv := range kvs {
		gotKeys = append(gotKeys, kv.Key)
	}
	if strings.Join(gotKeys, "\n") != strings.Join(wantKeys, "\n") {
		t.Errorf("keys differ from %s\n got %q\nwant %q", dumpPath, gotKeys, wantKeys)
	}
	for _, kv := range kvs {
		d, ok := want[kv.Key]
		if !ok {
			continue
		}
		if got := typeName(kv.Value); got != d.Type {
			t.Errorf("%s: type %s, llama.cpp wrote %s", kv.Key, got, d.Type)
			continue
		}
		if kv.Value.Type() != gguf.ValueArray {
			got := pyJSONOf([]any{kv.Value.Any()})
			w, err := normalizeDumpJSON(d.Value, kv.Value.Type())
			if err != nil {
				t.Fatal(err)
			}
			if got != w {
				t.Errorf("%s: value %.200s, llama.cpp wrote %.200s", kv.Key, got, w)
			}
			continue
		}
		elems := kv.Value.Elements()
		elem := kv.Value.ElemType()
		if d.Count == nil {
			w, err := normalizeDumpJSON(d.Value, elem)
			if err != nil {
				t.Fatal(err)
			}
			if got := pyJSONOf(elems); got != w {
				t.Errorf("%s: value %.200s, llama.cpp wrote %.200s", kv.Key, got, w)
			}
			continue
		}
		if len(elems) != *d.Count {
			t.Errorf("%s: %d elements, llama.cpp wrote %d", kv.Key, len(elems), *d.Count)
			continue
		}
		for _, part := range []struct {
			name string
			raw  json.RawMessage
			got  []any
		}{{"first", d.First, elems[:min(5, len(elems))]}, {"last", d.Last, elems[max(0, len(elems)-3):]}} {
			w, err := normalizeDumpJSON(part.raw, elem)
			if err != nil {
				t.Fatal(err)
			}
			if got := pyJSONOf(part.got); got != w {
				t.Errorf("%s: %s %s, llama.cpp wrote %s", kv.Key, part.name, got, w)
			}
		}
		sum, err := pyJSONSHA256(elems)
		if err != nil {
			t.Fatal(err)
		}
		if sum != d.SHA256 {
			t.Errorf("%s: sha256 of json.dumps(values) %s, llama.cpp's %s", kv.Key, sum, d.SHA256)
		}
	}
}

// TestTokenizerMetadataMatchesLlamaCpp converts the tokenizer of every
// fixture and compares all tokenizer.* keys with what llama.cpp's
// convert_hf_to_gguf.py wrote for the same checkpoint. The pre-tokenizer is
// detected, not given.
func TestTokenizerMetadataMatchesLlamaCpp(t *testing.T) {
	root := repoRoot(t)
	for _, fx := range tokenizerFixtures {
		t.Run(fx.dir, func(t *testing.T) {
			dir := filepath.Join(root, "testdata", "fixtures", fx.dir)
			kvs, err := TokenizerMetadata(dir, TokenizerOptions{Arch: fx.arch, VocabSize: fixtureVocabSize(t, dir)})
			if err != nil {
				t.Fatal(err)
			}
			// The tokenizer keys are the same in every outtype's dump; check them all.
			for _, out := range []string{"f32", "f16", "bf16", "q8_0"} {
				compareWithDump(t, kvs, filepath.Join(dir, "llama.cpp", out+".gguf.json"))
			}
		})
	}
}

// copyFixture copies the small files of a fixture (not the weights) into a
// temporary directory that a test may modify.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join(repoRoot(t), "testdata", "fixtures", name)
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".safetensors") || strings.HasSuffix(e.Name(), ".npy") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func kvMap(kvs []gguf.KV) map[string]gguf.Value {
	m := map[string]gguf.Value{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestTokenizerPreOverride(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "testdata", "fixtures", "deepseek-v2-lite")
	kvs, err := TokenizerMetadata(dir, TokenizerOptions{Arch: "deepseek2", VocabSize: 1048, Pre: "deepseek-llm"})
	if err != nil {
		t.Fatal(err)
	}
	if got := kvMap(kvs)["tokenizer.ggml.pre"].Any(); got != "deepseek-llm" {
		t.Errorf("pre = %v, want the override deepseek-llm", got)
	}
	if _, err := TokenizerMetadata(dir, TokenizerOptions{Arch: "deepseek2", Pre: "Bad Name!"}); err == nil {
		t.Error("a malformed --tokenizer-pre name was accepted")
	}
}

func TestTokenizerUnknownPreTokenizer(t *testing.T) {
	dir := copyFixture(t, "gpt-oss")
	path := filepath.Join(dir, "tokenizer.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Change one character of the o200k regex: no longer a known pre-tokenizer.
	mod := strings.Replace(string(data), `\\p{N}{1,3}`, `\\p{N}{1,4}`, 1)
	if mod == string(data) {
		t.Fatal("regex not found in the fixture")
	}
	if err := os.WriteFile(path, []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = TokenizerMetadata(dir, TokenizerOptions{Arch: "gpt-oss", VocabSize: 1024})
	if !errors.Is(err, ErrUnknownPreTokenizer) {
		t.Fatalf("err = %v, want ErrUnknownPreTokenizer", err)
	}
	for _, want := range []string{"--tokenizer-pre NAME", `\\p{N}{1,4}`, "gpt-4o", "tokenizer.json"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
	kvs, err := TokenizerMetadata(dir, TokenizerOptions{Arch: "gpt-oss", VocabSize: 1024, Pre: "gpt-4o"})
	if err != nil {
		t.Fatalf("with --tokenizer-pre: %v", err)
	}
	if got := kvMap(kvs)["tokenizer.ggml.pre"].Any(); got != "gpt-4o" {
		t.Errorf("pre = %v", got)
	}
}

func TestTokenizerErrors(t *testing.T) {
	root := repoRoot(t)
	gptoss := filepath.Join(root, "testdata", "fixtures", "gpt-oss")
	cases := []struct {
		name string
		dir  func(t *testing.T) string
		opts TokenizerOptions
		want string
	}{
		{"unknown arch", func(*testing.T) string { return gptoss }, TokenizerOptions{Arch: "llama"}, "supported: gpt-oss"},
		{"vocab too small", func(*testing.T) string { return gptoss }, TokenizerOptions{Arch: "gpt-oss", VocabSize: 1000}, "outside 0..999"},
		{"no tokenizer.json", func(t *testing.T) string { return t.TempDir() }, TokenizerOptions{Arch: "gpt-oss"}, "tokenizer.json: not found"},
		{"no tokenizer.model", func(t *testing.T) string {
			d := copyFixture(t, "phimoe")
			os.Remove(filepath.Join(d, "tokenizer.model"))
			return d
		}, TokenizerOptions{Arch: "phimoe", VocabSize: 1064}, "tokenizer.model: not found"},
		{"phimoe vocab too small", func(*testing.T) string { return filepath.Join(root, "testdata", "fixtures", "phimoe") },
			TokenizerOptions{Arch: "phimoe", VocabSize: 900}, "1000 pieces do not fit"},
		{"broken tokenizer.json", func(t *testing.T) string {
			d := copyFixture(t, "gpt-oss")
			os.WriteFile(filepath.Join(d, "tokenizer.json"), []byte(`{"model": {"type": "BPE", "vocab": {"a": 0}`), 0o644)
			return d
		}, TokenizerOptions{Arch: "gpt-oss"}, "invalid tokenizer.json"},
		{"unigram", func(t *testing.T) string {
			d := copyFixture(t, "gpt-oss")
			os.WriteFile(filepath.Join(d, "tokenizer.json"), []byte(`{"model": {"type": "Unigram", "vocab": [["a", 0.0]]}}`), 0o644)
			return d
		}, TokenizerOptions{Arch: "gpt-oss"}, `model type "Unigram" is not BPE`},
		{"negative special id", func(t *testing.T) string {
			d := copyFixture(t, "deepseek-moe")
			os.WriteFile(filepath.Join(d, "config.json"), []byte(`{"vocab_size": 1048, "pad_token_id": -1}`), 0o644)
			return d
		}, TokenizerOptions{Arch: "deepseek", VocabSize: 1048}, "invalid value for special token type pad: -1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := TokenizerMetadata(c.dir(t), c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestSpecialVocabChatTemplates(t *testing.T) {
	dir := copyFixture(t, "gpt-oss")
	// chat_template.jinja is used when tokenizer_config.json has none.
	cfgPath := filepath.Join(dir, "tokenizer_config.json")
	cfg, err := readTokJSONObject(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	delete(cfg, "chat_template")
	data, _ := json.Marshal(cfg)
	if err := os.WriteFile(cfgPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "chat_template.jinja"), []byte("{{ harmony }}\r\nline2"), 0o644); err != nil {
		t.Fatal(err)
	}
	kvs, err := TokenizerMetadata(dir, TokenizerOptions{Arch: "gpt-oss", VocabSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if got := kvMap(kvs)["tokenizer.chat_template"].Any(); got != "{{ harmony }}\nline2" {
		t.Errorf("chat_template = %q", got)
	}
	// additional_chat_templates/*.jinja turn it into named templates.
	if err := os.Mkdir(filepath.Join(dir, "additional_chat_templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "additional_chat_templates", "tool-use.jinja"), []byte("T"), 0o644)
	os.WriteFile(filepath.Join(dir, "additional_chat_templates", "rag.jinja"), []byte("R"), 0o644)
	kvs, err = TokenizerMetadata(dir, TokenizerOptions{Arch: "gpt-oss", VocabSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	var tail []string
	for _, kv := range kvs[len(kvs)-4:] {
		tail = append(tail, fmt.Sprintf("%s=%v", kv.Key, kv.Value.Any()))
	}
	want := []string{"tokenizer.chat_template.rag=R", "tokenizer.chat_template.tool_use=T",
		"tokenizer.chat_templates=[rag tool_use]", "tokenizer.chat_template={{ harmony }}\nline2"}
	if strings.Join(tail, "|") != strings.Join(want, "|") {
		t.Errorf("template keys\n got %q\nwant %q", tail, want)
	}
}

// TestSpecialVocabPostProcessors exercises llama.cpp's TemplateProcessing and
// RobertaProcessing parsing on hand-made tokenizer configurations.
func TestSpecialVocabPostProcessors(t *testing.T) {
	added := []addedToken{{ID: "0", Content: "<s>"}, {ID: "1", Content: "</s>"}, {ID: "2", Content: "<eot>"}, {ID: "3", Content: "<sep>"}}
	st := func(s string) any { return map[string]any{"SpecialToken": map[string]any{"id": s}} }
	seq := func(s string) any { return map[string]any{"Sequence": map[string]any{"id": s}} }
	cases := []struct {
		name      string
		post      any
		cfg       map[string]any
		wantIDs   string
		wantFlags string
	}{
		{"bos template", map[string]any{"type": "TemplateProcessing",
			"single": []any{st("<s>"), seq("A")}, "pair": []any{st("<s>"), seq("A"), st("<s>"), seq("B")}},
			map[string]any{"bos_token": "<s>", "eos_token": "</s>"}, "bos=0 eos=1", "bos=true sep=false"},
		{"bos+eos template with separator", map[string]any{"type": "TemplateProcessing",
			"single": []any{st("<s>"), seq("A"), st("</s>")}, "pair": []any{st("<s>"), seq("A"), st("</s>"), st("</s>"), seq("B"), st("</s>")}},
			map[string]any{"bos_token": "<s>", "eos_token": "</s>"}, "bos=0 eos=1 sep=1", "bos=true eos=true sep=true"},
		{"trailing token is not the eos: old eos becomes eot", map[string]any{"type": "TemplateProcessing",
			"single": []any{st("<s>"), seq("A"), st("<eot>")}},
			map[string]any{"bos_token": "<s>", "eos_token": "</s>"}, "bos=0 eos=2 eot=1", "bos=true eos=true"},
		{"roberta", map[string]any{"type": "RobertaProcessing", "sep": []any{"<sep>", json.Number("3")}, "cls": []any{"<s>", json.Number("0")}},
			map[string]any{"eos_token": "</s>", "unk_token": "x"}, "eos=1 sep=3 cls=0", "bos=true eos=true sep=true"},
		{"no tokenizer_config: template names the bos", map[string]any{"type": "TemplateProcessing",
			"single": []any{st("<s>"), seq("A")}}, nil, "", "bos=true"},
		{"sequence of processors (Llama 3 style)", map[string]any{"type": "Sequence", "processors": []any{
			map[string]any{"type": "ByteLevel", "add_prefix_space": true},
			map[string]any{"type": "TemplateProcessing", "single": []any{st("<s>"), seq("A")}, "pair": []any{st("<s>"), seq("A"), st("<s>"), seq("B")}}}},
			map[string]any{"bos_token": "<s>", "eos_token": "</s>"}, "bos=0 eos=1", "bos=true sep=false"},
		{"add_* in tokenizer_config override", map[string]any{"type": "TemplateProcessing",
			"single": []any{st("<s>"), seq("A")}},
			map[string]any{"bos_token": "<s>", "add_bos_token": false, "add_eos_token": true}, "bos=0", "bos=false eos=true"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := &tokenizerJSON{path: "tokenizer.json", AddedTokens: added, PostProcessor: c.post}
			sv, err := loadSpecialVocab(t.TempDir(), tok, c.cfg, false, 0)
			if err != nil {
				t.Fatal(err)
			}
			var ids, flags []string
			for _, e := range sv.ids {
				ids = append(ids, fmt.Sprintf("%s=%d", e.typ, e.val))
			}
			for _, e := range sv.flags {
				flags = append(flags, fmt.Sprintf("%s=%v", e.typ, e.val))
			}
			if got := strings.Join(ids, " "); got != c.wantIDs {
				t.Errorf("ids %q, want %q", got, c.wantIDs)
			}
			if got := strings.Join(flags, " "); got != c.wantFlags {
				t.Errorf("flags %q, want %q", got, c.wantFlags)
			}
		})
	}
}

func TestMergesPairFormEncodesSpaces(t *testing.T) {
	tok := &tokenizerJSON{path: "tokenizer.json", Model: tokenizerModel{Merges: json.RawMessage(`[["a b", "c"], ["d", " "]]`)}}
	got, err := tok.mergeStrings()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a\u0120b c", "d \u0120"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("merges %q, want %q", got, want)
	}
	tok.Model.Merges = json.RawMessage(`[["a", "b"], "c d"]`)
	if _, err := tok.mergeStrings(); err == nil {
		t.Error("mixed merge forms accepted")
	}
}

// FuzzBPETokenizerJSON: whatever tokenizer.json holds, the BPE path returns
// metadata or an error, never panics (post-processor parsing included).
func FuzzBPETokenizerJSON(f *testing.F) {
	root := repoRoot(f)
	for _, fx := range []string{"gpt-oss", "deepseek-moe"} {
		if data, err := os.ReadFile(filepath.Join(root, "testdata", "fixtures", fx, "tokenizer.json")); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", "b"]]}, "added_tokens": [{"id": 2, "content": "<s>", "special": true}],
		"post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>"}}, {"Sequence": {"id": "A"}}], "pair": [{"SpecialToken": {"id": "<s>"}}]},
		"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}}`))
	f.Add([]byte(`{"model": {"vocab": {"a": 0}, "merges": ["a b", "c d"]}, "post_processor": {"type": "RobertaProcessing", "cls": [], "sep": "x"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := `{"bos_token": "<s>", "eos_token": {"content": "</s>"}, "add_eos_token": true, "chat_template": [{"name": "default", "template": "x"}, {"name": "tool use", "template": "y"}]}`
		if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, vs := range []int{0, 2048} {
			kvs, err := TokenizerMetadata(dir, TokenizerOptions{Arch: "deepseek2", VocabSize: vs, Pre: "gpt-2"})
			if err == nil && len(kvs) == 0 {
				t.Fatal("no error and no keys")
			}
		}
	})
}
