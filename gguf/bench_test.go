package gguf

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// WriteManyTensorsFile writes a header-heavy model to dir: a 200k-token
// vocabulary with merges and 64 layers of 40 tensors (2,560 tensors), the
// shape of metadata a large MoE model carries. Tensor data is tiny.
func writeManyTensorsFile(tb testing.TB, dir string) string {
	md := NewMetadata()
	md.Set(KeyArchitecture, String("gpt-oss"))
	tokens := make([]string, 200_000)
	types := make([]int32, len(tokens))
	for i := range tokens {
		tokens[i] = fmt.Sprintf("tok%06d", i)
		types[i] = 1
	}
	md.Set("tokenizer.ggml.tokens", Array(tokens))
	md.Set("tokenizer.ggml.token_type", Array(types))
	md.Set("tokenizer.ggml.merges", Array(tokens[:150_000]))
	var tensors []TensorInfo
	for l := 0; l < 64; l++ {
		for k := 0; k < 40; k++ {
			tensors = append(tensors, TensorInfo{Name: fmt.Sprintf("blk.%d.t%d.weight", l, k), Type: TypeQ8_0, Dims: []uint64{32, 2, 2}})
		}
	}
	path := filepath.Join(dir, "many.gguf")
	out, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer out.Close()
	w, err := NewWriter(out, md, tensors)
	if err != nil {
		tb.Fatal(err)
	}
	data := make([]byte, tensors[0].Size())
	for _, t := range tensors {
		if err := w.WriteTensorBytes(t.Name, data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkOpen maps and parses a file with 2,560 tensors and a 200k vocabulary.
func BenchmarkOpen(b *testing.B) {
	path := writeManyTensorsFile(b, b.TempDir())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
