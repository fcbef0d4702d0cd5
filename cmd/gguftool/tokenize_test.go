package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/convert"
	"github.com/gguftool/gguftool/gguf"
)

// vocabGGUF writes a GGUF holding only the converter's tokenizer metadata
// for a fixture, and returns its path and the fixture's reference.json.
func vocabGGUF(t *testing.T, fixture, arch string) (string, map[string]json.RawMessage) {
	t.Helper()
	dir := filepath.Join("../../testdata/fixtures", fixture)
	var cfg struct {
		VocabSize int `json:"vocab_size"`
	}
	var ref map[string]json.RawMessage
	for name, v := range map[string]any{"config.json": &cfg, "reference.json": &ref} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	kvs, err := convert.TokenizerMetadata(dir, convert.TokenizerOptions{Arch: arch, VocabSize: cfg.VocabSize})
	if err != nil {
		t.Fatal(err)
	}
	md := gguf.NewMetadata()
	md.Set("general.architecture", gguf.String(arch))
	for _, kv := range kvs {
		md.Set(kv.Key, kv.Value)
	}
	path := filepath.Join(t.TempDir(), fixture+".gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := gguf.NewWriter(f, md, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, ref
}

var tokenLine = regexp.MustCompile(`(?m)^ *(\d+) -> '`)

func TestTokenizeMatchesReference(t *testing.T) {
	for fixture, arch := range map[string]string{"gpt-oss": "gpt-oss", "deepseek-moe": "deepseek", "deepseek-v2-lite": "deepseek2", "phimoe": "phimoe"} {
		path, ref := vocabGGUF(t, fixture, arch)
		var prompt string
		var want []int32
		json.Unmarshal(ref["prompt_text"], &prompt)
		json.Unmarshal(ref["prompt_ids"], &want)
		var checks map[string][]int32
		json.Unmarshal(ref["tokenizer_checks"], &checks)

		// --ids: prompt_ids is the first 24 ids (BOS included where the
		// vocabulary adds it), --file reads the text verbatim.
		tf := filepath.Join(t.TempDir(), "prompt.txt")
		os.WriteFile(tf, []byte(prompt), 0o644)
		out, errOut, code := runCLI(t, "tokenize", path, "--file", tf, "--ids")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", fixture, code, errOut)
		}
		var got []int32
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%s: --ids output %q: %v", fixture, out, err)
		}
		if len(got) < len(want) || idList(got[:len(want)]) != idList(want) {
			t.Errorf("%s: tokenize --ids = %v, want prefix %v", fixture, got, want)
		}

		// Default output: one "%6d -> 'piece'" line per token; the pieces
		// concatenate to the text; detokenize gives the text back.
		for text, ids := range checks {
			out, errOut, code := runCLI(t, "tokenize", path, text, "--no-bos", "--no-escape")
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", fixture, code, errOut)
			}
			// Pieces may hold newlines, so find the "%6d -> '" line starts.
			var gotIDs []int32
			for _, m := range tokenLine.FindAllStringSubmatch(out, -1) {
				v, _ := strconv.Atoi(m[1])
				gotIDs = append(gotIDs, int32(v))
			}
			if idList(gotIDs) != idList(ids) {
				t.Errorf("%s %q: printed ids %v, want %v", fixture, text, gotIDs, ids)
			}
			out, errOut, code = runCLI(t, "detokenize", path, idList(ids), "--json")
			if code != 0 {
				t.Fatalf("%s: detokenize exit %d: %s", fixture, code, errOut)
			}
			var dec struct{ Text string }
			json.Unmarshal([]byte(out), &dec)
			if dec.Text != text {
				t.Errorf("%s: detokenize = %q, want %q", fixture, dec.Text, text)
			}
		}
	}
}

func TestTokenizeSpecialAndJSON(t *testing.T) {
	path, _ := vocabGGUF(t, "gpt-oss", "gpt-oss")
	out, _, code := runCLI(t, "tokenize", path, `<|start|>user<|message|>Hi\n`, "--json")
	if code != 0 {
		t.Fatal(code)
	}
	var res struct {
		Count  int
		IDs    []int32
		Tokens []struct {
			ID                int32
			Piece, Text, Type string
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Count != len(res.IDs) || res.Tokens[0].ID != 1006 || res.Tokens[0].Type != "control" || res.Tokens[3].ID != 1008 {
		t.Errorf("special tokens not parsed: %s", out)
	}
	if last := res.Tokens[len(res.Tokens)-1]; last.Piece != "\n" {
		t.Errorf(`escape \n not processed: last piece %q`, last.Piece)
	}
	root := newRootCmd()
	var sout strings.Builder
	root.SetOut(&sout)
	root.SetIn(strings.NewReader("<|start|>"))
	root.SetArgs([]string{"tokenize", path, "--file", "-", "--ids"})
	if err := root.Execute(); err != nil || sout.String() != "[1006]\n" {
		t.Errorf("--file - (stdin): %q, %v", sout.String(), err)
	}
	out2, _, _ := runCLI(t, "tokenize", path, "<|start|>", "--no-special", "--ids")
	if strings.Contains(out2, "1006") {
		t.Errorf("--no-special still parsed <|start|>: %s", out2)
	}
}

func TestTokenizeErrors(t *testing.T) {
	path, _ := vocabGGUF(t, "phimoe", "phimoe")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"tokenize", path}, exitUsage, "accepts 2 arg"},
		{[]string{"tokenize", "/nonexistent.gguf", "x"}, exitError, "nonexistent"},
		{[]string{"tokenize", path, "--file", "/nonexistent.txt"}, exitError, "nonexistent.txt"},
		{[]string{"detokenize", path, "1,x"}, exitUsage, `"x" is not an integer`},
		{[]string{"detokenize", path, "99999"}, exitError, "outside the vocabulary"},
		{[]string{"detokenize", path}, exitUsage, "requires at least 2"},
		{[]string{"tokenize", filepath.Join(quantDir, "model-f32.gguf"), "x"}, exitError, "byte-level"},
	} {
		_, errOut, code := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d containing %q", c.args, code, errOut, c.code, c.msg)
		}
	}
}
