package quant

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// The quantization fixture: model-f32.gguf and, for every llama-quantize
// output, a JSON description with the sha256 of every tensor.
const fixtureDir = "../testdata/fixtures/quant"

type goldenTensor struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Ne     []uint64 `json:"ne"`
	Offset uint64   `json:"offset"`
	Size   uint64   `json:"size"`
	SHA256 string   `json:"sha256"`
}

type goldenFile struct {
	File    string         `json:"file"`
	Size    int64          `json:"size"`
	SHA256  string         `json:"sha256"`
	Tensors []goldenTensor `json:"tensors"`
}

func loadGolden(t testing.TB, path string) *goldenFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &g
}

func goldenPaths(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"pure-*.gguf.json", "presets-*.gguf.json"} {
		m, err := filepath.Glob(filepath.Join(fixtureDir, pat))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	if len(out) == 0 {
		t.Fatalf("no goldens in %s", fixtureDir)
	}
	return out
}

// f32Tensor reads an F32 tensor of the source model as floats.
func f32Tensor(t testing.TB, f *gguf.File, name string) []float32 {
	t.Helper()
	ti, ok := f.Tensor(name)
	if !ok {
		t.Fatalf("model-f32.gguf has no tensor %s", name)
	}
	if ti.Type != gguf.TypeF32 {
		t.Fatalf("%s is %s, want F32", name, ti.Type)
	}
	b := f.Data(ti)
	x := make([]float32, len(b)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x
}

func openSource(t testing.TB) *gguf.File {
	t.Helper()
	f, err := gguf.Open(filepath.Join(fixtureDir, "model-f32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestGoldenTensors quantizes every tensor of model-f32.gguf to the type
// llama-quantize chose for it in each golden output and compares sha256.
func TestGoldenTensors(t *testing.T) {
	src := openSource(t)
	for _, path := range goldenPaths(t) {
		g := loadGolden(t, path)
		t.Run(g.File, func(t *testing.T) {
			for _, gt := range g.Tensors {
				typ, err := gguf.ParseType(gt.Type)
				if err != nil {
					t.Fatalf("%s: %v", gt.Name, err)
				}
				x := f32Tensor(t, src, gt.Name)
				dst := make([]byte, typ.RowSize(int64(len(x))))
				if err := Quantize(typ, dst, x); err != nil {
					t.Fatalf("%s: %v", gt.Name, err)
				}
				sum := sha256.Sum256(dst)
				if got := hex.EncodeToString(sum[:]); got != gt.SHA256 {
					t.Errorf("%s as %s: sha256 %s, llama-quantize %s", gt.Name, typ, got, gt.SHA256)
				}
			}
		})
	}
}
