package quant

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// countingHash hashes and counts what is written.
type countingHash struct {
	h interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

// recipeForGolden maps a fixture name (pure-Q4_K_M.gguf, presets-Q2_K.gguf)
// to the llama-quantize invocation that made it.
func recipeForGolden(t *testing.T, file string) *Recipe {
	t.Helper()
	base := strings.TrimSuffix(file, ".gguf")
	kind, name, _ := strings.Cut(base, "-")
	f, err := ParseFtype(name)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRecipe(f)
	r.Pure = kind == "pure"
	return r
}

// TestGoldenFiles rebuilds every llama-quantize output of the fixture from
// model-f32.gguf and compares the whole file's sha256 and size, after
// checking tensor order, types and offsets against the golden's listing.
func TestGoldenFiles(t *testing.T) {
	src := openSource(t)
	for _, path := range goldenPaths(t) {
		g := loadGolden(t, path)
		t.Run(g.File, func(t *testing.T) {
			r := recipeForGolden(t, g.File)
			p, err := r.Plan(src.Metadata, src.Tensors)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Tensors) != len(g.Tensors) {
				t.Fatalf("%d tensors, golden has %d", len(p.Tensors), len(g.Tensors))
			}
			outs := make([]gguf.TensorInfo, len(p.Tensors))
			for i := range p.Tensors {
				outs[i] = p.Tensors[i].Out
			}
			laid, _, err := gguf.Layout(p.Metadata, outs)
			if err != nil {
				t.Fatal(err)
			}
			for i, gt := range g.Tensors {
				got := laid[i]
				if got.Name != gt.Name || got.Type.String() != gt.Type || got.Offset != gt.Offset {
					t.Errorf("tensor %d: %s %s @%d, golden %s %s @%d", i, got.Name, got.Type, got.Offset, gt.Name, gt.Type, gt.Offset)
				}
			}
			h := &countingHash{h: sha256.New()}
			if _, err := p.Write(h, src, WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(h.h.Sum(nil)); got != g.SHA256 || h.n != g.Size {
				t.Errorf("file sha256 %s (%d bytes), llama-quantize %s (%d bytes)", got, h.n, g.SHA256, g.Size)
			}
		})
	}
}

// TestWholeGoldenBytes compares byte for byte against the two outputs kept
// whole in testdata, to point at the first differing byte if any.
func TestWholeGoldenBytes(t *testing.T) {
	src := openSource(t)
	for _, name := range []string{"presets-Q4_K_M.gguf", "presets-MXFP4_MOE.gguf"} {
		want, err := gguf.OpenFile(filepath.Join(fixtureDir, name))
		if err != nil {
			t.Fatal(err)
		}
		wantBytes := want.Shards[0].Bytes()
		p, err := recipeForGolden(t, name).Plan(src.Metadata, src.Tensors)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytesBuffer
		if _, err := p.Write(&buf, src, WriteOptions{ChunkElems: 1000}); err != nil {
			t.Fatal(err)
		}
		if len(buf.b) != len(wantBytes) {
			t.Errorf("%s: %d bytes, want %d", name, len(buf.b), len(wantBytes))
		}
		for i := range min(len(buf.b), len(wantBytes)) {
			if buf.b[i] != wantBytes[i] {
				t.Errorf("%s: first difference at byte %d", name, i)
				break
			}
		}
		want.Close()
	}
}

type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func osWriteFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }
