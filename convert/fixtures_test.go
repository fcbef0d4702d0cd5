package convert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// The fixture dumps (testdata/fixtures/<family>/llama.cpp/<outtype>.gguf.json)
// describe what llama.cpp's convert_hf_to_gguf.py wrote for each fixture
// checkpoint. These tests convert the same checkpoints and compare every
// key (type and value, or sha256 of Python's json.dumps for long arrays)
// and every tensor (name, type, ne, absolute offset, size, sha256) in order.

const fixtureRoot = "../testdata/fixtures"

var (
	fixtureFamilies = []string{"gpt-oss", "phimoe", "deepseek-moe", "deepseek-v2-lite"}
	fixtureOutTypes = []string{"f32", "f16", "bf16", "q8_0"}
)

type dumpKV struct {
	Type   string          `json:"type"`
	Value  json.RawMessage `json:"value"`
	Count  *int            `json:"count"`
	SHA256 string          `json:"sha256_json"`
}

type dumpTensor struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Ne     []uint64 `json:"ne"`
	Offset int64    `json:"offset"`
	NBytes uint64   `json:"nbytes"`
	SHA256 string   `json:"sha256"`
}

type dump struct {
	Version   int
	Alignment int
	KV        []string // key order
	KVs       map[string]dumpKV
	Tensors   []dumpTensor
}

func loadFixtureDump(t *testing.T, path string) *dump {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Version   int                    `json:"version"`
		Alignment int                    `json:"alignment"`
		KV        json.RawMessage        `json:"kv"`
		Tensors   []dumpTensor           `json:"tensors"`
		_         map[string]interface{} `json:"-"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	d := &dump{Version: raw.Version, Alignment: raw.Alignment, Tensors: raw.Tensors, KVs: map[string]dumpKV{}}
	// Key order matters: walk the object's tokens.
	dec := json.NewDecoder(strings.NewReader(string(raw.KV)))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var kv dumpKV
		if err := dec.Decode(&kv); err != nil {
			t.Fatal(err)
		}
		key := tok.(string)
		d.KV = append(d.KV, key)
		d.KVs[key] = kv
	}
	return d
}

// valueTypeName renders a GGUF value type as the dumps do.
func valueTypeName(v gguf.Value) string {
	if v.Type() == gguf.ValueArray {
		return "ARRAY[" + v.ElemType().String() + "]"
	}
	return v.Type().String()
}

// compareKV checks one of our values against the dump's entry.
func compareKV(key string, v gguf.Value, want dumpKV) error {
	if got := valueTypeName(v); got != want.Type {
		return fmt.Errorf("%s: type %s, llama.cpp %s", key, got, want.Type)
	}
	if v.Type() == gguf.ValueArray && want.Count != nil {
		if v.Len() != *want.Count {
			return fmt.Errorf("%s: %d elements, llama.cpp %d", key, v.Len(), *want.Count)
		}
		sum, err := pyJSONSHA256(v.Elements())
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if sum != want.SHA256 {
			return fmt.Errorf("%s: sha256 of json.dumps %s, llama.cpp %s", key, sum, want.SHA256)
		}
		return nil
	}
	var wantAny any
	dec := json.NewDecoder(strings.NewReader(string(want.Value)))
	dec.UseNumber()
	if err := dec.Decode(&wantAny); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	got := v.Any()
	switch w := wantAny.(type) {
	case json.Number:
		switch g := got.(type) {
		case float32:
			f, _ := w.Float64()
			if float32(f) != g && !(math.IsNaN(f) && math.IsNaN(float64(g))) {
				return fmt.Errorf("%s: %v, llama.cpp %v", key, g, w)
			}
			return nil
		case float64:
			f, _ := w.Float64()
			if f != g {
				return fmt.Errorf("%s: %v, llama.cpp %v", key, g, w)
			}
			return nil
		default:
			if fmt.Sprint(g) != w.String() {
				return fmt.Errorf("%s: %v, llama.cpp %v", key, g, w)
			}
			return nil
		}
	case []any:
		gs := v.Elements()
		if len(gs) != len(w) {
			return fmt.Errorf("%s: %d elements, llama.cpp %d", key, len(gs), len(w))
		}
		for i := range w {
			if fmt.Sprint(gs[i]) != fmt.Sprint(w[i]) {
				if f, ok := gs[i].(float32); ok {
					if wf, err := w[i].(json.Number).Float64(); err == nil && float32(wf) == f {
						continue
					}
				}
				return fmt.Errorf("%s[%d]: %v, llama.cpp %v", key, i, gs[i], w[i])
			}
		}
		return nil
	default:
		if !equalJSON(got, wantAny) {
			return fmt.Errorf("%s: %q, llama.cpp %q", key, fmt.Sprint(got), fmt.Sprint(wantAny))
		}
	}
	return nil
}

func equalJSON(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// convertFixture converts a fixture to a temporary file and opens it.
func convertFixture(t *testing.T, family, outtype string, skipTok bool) *gguf.File {
	t.Helper()
	p, err := NewPlan(filepath.Join(fixtureRoot, family), Options{OutType: outtype, SkipTokenizer: skipTok})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	path := filepath.Join(t.TempDir(), "out.gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(context.Background(), f, 2, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, err := gguf.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// compareFileWithDump returns every difference between a converted file and
// llama.cpp's dump; with skipTok the tokenizer.* keys are not compared.
func compareFileWithDump(g *gguf.File, d *dump, skipTok bool) []string {
	var diffs []string
	var wantKeys []string
	for _, k := range d.KV {
		if skipTok && strings.HasPrefix(k, "tokenizer.") {
			continue
		}
		wantKeys = append(wantKeys, k)
	}
	gotKeys := g.Metadata.Keys()
	if strings.Join(gotKeys, "\n") != strings.Join(wantKeys, "\n") {
		diffs = append(diffs, fmt.Sprintf("key order:\n got %v\nwant %v", gotKeys, wantKeys))
	}
	for _, k := range wantKeys {
		v, ok := g.Metadata.Get(k)
		if !ok {
			continue
		}
		if err := compareKV(k, v, d.KVs[k]); err != nil {
			diffs = append(diffs, err.Error())
		}
	}
	if len(g.Tensors) != len(d.Tensors) {
		diffs = append(diffs, fmt.Sprintf("%d tensors, llama.cpp %d", len(g.Tensors), len(d.Tensors)))
	}
	for i := 0; i < min(len(g.Tensors), len(d.Tensors)); i++ {
		ti, w := &g.Tensors[i], d.Tensors[i]
		sum := sha256.Sum256(g.Data(ti))
		got := dumpTensor{Name: ti.Name, Type: ti.Type.String(), Ne: ti.Dims, Offset: g.FileOffset(ti), NBytes: ti.Size(), SHA256: hex.EncodeToString(sum[:])}
		if skipTok {
			// Without the tokenizer keys the header is shorter: compare
			// offsets relative to the data section.
			got.Offset -= g.DataOffset
			w.Offset -= d.Tensors[0].Offset
		}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			diffs = append(diffs, fmt.Sprintf("tensor %d:\n got %v\nwant %v", i, got, w))
		}
	}
	return diffs
}

// TestFixturesMatchLlamaCpp converts every fixture in every outtype and
// compares the complete file description with llama.cpp's.
func TestFixturesMatchLlamaCpp(t *testing.T) {
	skipTok := os.Getenv("GGUFTOOL_SKIP_TOKENIZER") != ""
	for _, fam := range fixtureFamilies {
		for _, ot := range fixtureOutTypes {
			t.Run(fam+"/"+ot, func(t *testing.T) {
				d := loadFixtureDump(t, filepath.Join(fixtureRoot, fam, "llama.cpp", ot+".gguf.json"))
				g := convertFixture(t, fam, ot, skipTok)
				diffs := compareFileWithDump(g, d, skipTok)
				for i, s := range diffs {
					if i == 10 {
						t.Errorf("... %d more differences", len(diffs)-10)
						break
					}
					t.Error(s)
				}
			})
		}
	}
}
