package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// runCLI runs gguftool in-process and returns stdout, stderr and the exit code.
func runCLI(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	code := exitOK
	if err != nil {
		fmt.Fprintln(&errb, err)
		code = exitCode(err)
	}
	return out.String(), errb.String(), code
}

const quantDir = "../../testdata/fixtures/quant"

// TestInspectJSONMatchesGoldens compares inspect --json with the dumps of
// llama.cpp's files recorded in testdata (metadata, every tensor).
func TestInspectJSONMatchesGoldens(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(quantDir, "*.gguf"))
	if len(paths) == 0 {
		t.Fatal("no fixtures")
	}
	for _, path := range paths {
		stdout, stderr, code := runCLI(t, "inspect", "--json", "--full", path)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", path, code, stderr)
		}
		var got struct {
			Version    uint32                     `json:"version"`
			DataOffset int64                      `json:"data_offset"`
			Metadata   map[string]json.RawMessage `json:"metadata"`
			Tensors    []struct {
				Name   string   `json:"name"`
				Type   string   `json:"type"`
				Ne     []uint64 `json:"ne"`
				Offset uint64   `json:"offset"`
				Size   uint64   `json:"size"`
			} `json:"tensors"`
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatal(err)
		}
		var want struct {
			DataOffset int64 `json:"data_offset"`
			KV         []struct {
				Key   string          `json:"key"`
				Value json.RawMessage `json:"value"`
			} `json:"kv"`
			Tensors []struct {
				Name   string   `json:"name"`
				Type   string   `json:"type"`
				Ne     []uint64 `json:"ne"`
				Offset uint64   `json:"offset"`
				Size   uint64   `json:"size"`
			} `json:"tensors"`
		}
		b, err := os.ReadFile(path + ".json")
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(b, &want)
		if got.DataOffset != want.DataOffset || len(got.Metadata) != len(want.KV) || len(got.Tensors) != len(want.Tensors) {
			t.Fatalf("%s: header differs", path)
		}
		for _, kv := range want.KV {
			if !jsonEqual(got.Metadata[kv.Key], kv.Value) {
				t.Errorf("%s: %s = %s, want %s", path, kv.Key, got.Metadata[kv.Key], kv.Value)
			}
		}
		for i, w := range want.Tensors {
			g := got.Tensors[i]
			if g.Name != w.Name || g.Type != w.Type || fmt.Sprint(g.Ne) != fmt.Sprint(w.Ne) || g.Offset != w.Offset || g.Size != w.Size {
				t.Errorf("%s: tensor %d = %+v, want %+v", path, i, g, w)
			}
		}
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	json.Unmarshal(a, &x)
	json.Unmarshal(b, &y)
	return fmt.Sprint(x) == fmt.Sprint(y)
}

func TestInspectText(t *testing.T) {
	stdout, _, code := runCLI(t, "inspect", filepath.Join(quantDir, "presets-Q4_K_M.gguf"))
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"general.architecture", "blk.1.ffn_up_exps.weight", "totals by type", "Q4_K", "totals by kind", "… 504 more"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestInspectErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.gguf")
	os.WriteFile(bad, []byte("GGUF\x03\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00"), 0o644)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"inspect", bad}, exitError, "bad.gguf: byte 8: tensor count"},
		{[]string{"inspect", filepath.Join(dir, "missing.gguf")}, exitError, "no such file"},
		{[]string{"inspect"}, exitUsage, "accepts 1 arg"},
		{[]string{"inspect", "--bogus", bad}, exitUsage, "unknown flag"},
	}
	for _, c := range cases {
		_, stderr, code := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// BenchmarkInspectJSON opens a file with 2,560 tensors and a 200k vocabulary
// and prints the inspect --json summary.
func BenchmarkInspectJSON(b *testing.B) {
	path := filepath.Join(b.TempDir(), "many.gguf")
	writeManyTensors(b, path)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := gguf.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := writeJSON(io.Discard, inspectJSON(f, false)); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func writeManyTensors(tb testing.TB, path string) {
	md := gguf.NewMetadata()
	tokens := make([]string, 200_000)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("tok%06d", i)
	}
	md.Set("tokenizer.ggml.tokens", gguf.Array(tokens))
	var tensors []gguf.TensorInfo
	for l := 0; l < 64; l++ {
		for k := 0; k < 40; k++ {
			tensors = append(tensors, gguf.TensorInfo{Name: fmt.Sprintf("blk.%d.t%d_exps.weight", l, k), Type: gguf.TypeQ8_0, Dims: []uint64{32, 2, 2}})
		}
	}
	out, _ := os.Create(path)
	defer out.Close()
	w, err := gguf.NewWriter(out, md, tensors)
	if err != nil {
		tb.Fatal(err)
	}
	data := make([]byte, tensors[0].Size())
	for _, t := range tensors {
		w.WriteTensorBytes(t.Name, data)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}
