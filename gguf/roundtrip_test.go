package gguf

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// fixtureGGUFs lists the real llama.cpp files in testdata.
func fixtureGGUFs(t testing.TB) []string {
	paths, err := filepath.Glob("../testdata/fixtures/quant/*.gguf")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixture GGUFs found: %v", err)
	}
	return paths
}

// rewrite reads path and writes it again through Writer.
func rewrite(t testing.TB, path string) []byte {
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, f.Metadata, f.Tensors)
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.Tensors {
		if err := w.WriteTensorBytes(f.Tensors[i].Name, f.Data(&f.Tensors[i])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTripIsByteIdentical(t *testing.T) {
	for _, path := range fixtureGGUFs(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := rewrite(t, path)
			if !bytes.Equal(got, want) {
				n := 0
				for n < len(got) && n < len(want) && got[n] == want[n] {
					n++
				}
				t.Fatalf("rewrite differs from llama.cpp's file at byte %d (sizes %d vs %d)", n, len(got), len(want))
			}
		})
	}
}
