package publish

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// benchModel writes a 256 MiB GGUF of 16 F32 tensors once per run.
func benchModel(b *testing.B) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.gguf")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	md := gguf.NewMetadata()
	md.Set(gguf.KeyArchitecture, gguf.String("llama"))
	var ts []gguf.TensorInfo
	for i := range 16 {
		ts = append(ts, gguf.TensorInfo{Name: fmt.Sprintf("blk.%d.ffn_up_exps.weight", i), Type: gguf.TypeF32, Dims: []uint64{1024, 1024, 4}})
	}
	w, err := gguf.NewWriter(f, md, ts)
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 16<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, t := range ts {
		if err := w.WriteTensorBytes(t.Name, data); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkPublish publishes a 256 MiB model in 64 MB shards: read from the
// map, write, sha256, fsync. Compare with BenchmarkCopyHashBaseline, the
// same bytes copied with io.Copy and hashed, on the same disk.
func BenchmarkPublish(b *testing.B) {
	model := benchModel(b)
	st, _ := os.Stat(model)
	b.SetBytes(st.Size())
	for i := 0; b.Loop(); i++ {
		out := filepath.Join(b.TempDir(), fmt.Sprint("r", i))
		if _, err := Publish(context.Background(), Options{Models: []string{model}, OutDir: out, SplitMaxSize: 64_000_000, Version: "bench"}); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(out)
	}
}

// BenchmarkCopyHashBaseline copies the model file with io.Copy through
// sha256 and fsyncs it: the least any publish of it has to do.
func BenchmarkCopyHashBaseline(b *testing.B) {
	model := benchModel(b)
	st, _ := os.Stat(model)
	b.SetBytes(st.Size())
	for i := 0; b.Loop(); i++ {
		in, err := os.Open(model)
		if err != nil {
			b.Fatal(err)
		}
		outPath := filepath.Join(b.TempDir(), fmt.Sprint("copy", i))
		out, err := os.Create(outPath)
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(out, h), in); err != nil {
			b.Fatal(err)
		}
		out.Sync()
		out.Close()
		in.Close()
		os.Remove(outPath)
	}
}
