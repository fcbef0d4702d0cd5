package quant

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// TestWriteStreams quantizes a 32 MiB tensor with 4 MiB chunks and checks
// that the allocations stay near the chunk size, not the tensor size, and
// that chunking does not change the bytes.
func TestWriteStreams(t *testing.T) {
	const ne0, ne1 = 4096, 2048 // 8 Mi floats = 32 MiB
	md := gguf.NewMetadata()
	md.Set(gguf.KeyArchitecture, gguf.String("llama"))
	md.Set("llama.block_count", gguf.Uint32(1))
	ti := []gguf.TensorInfo{{Name: "blk.0.ffn_up.weight", Type: gguf.TypeF32, Dims: []uint64{ne0, ne1}}}
	path := filepath.Join(t.TempDir(), "big.gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := gguf.NewWriter(f, md, ti)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.BeginTensor(ti[0].Name); err != nil {
		t.Fatal(err)
	}
	row := make([]byte, 4*ne0)
	for r := 0; r < ne1; r++ {
		for i := 0; i < ne0; i++ {
			binary.LittleEndian.PutUint32(row[4*i:], math.Float32bits(float32(math.Sin(float64(r*ne0+i)))))
		}
		if _, err := w.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.EndTensor(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	src, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	p, err := NewRecipe(FtypeQ8_0).Plan(src.Metadata, src.Tensors)
	if err != nil {
		t.Fatal(err)
	}
	const chunk = 1 << 20 // 4 MiB of float32
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := p.Write(io.Discard, src, WriteOptions{ChunkElems: chunk}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %.1f MiB quantizing a 32 MiB tensor", float64(alloc)/(1<<20))
	if alloc > 12<<20 {
		t.Errorf("allocated %d bytes for a 32 MiB tensor with 4 MiB chunks: not streaming", alloc)
	}
	var small, whole bytes.Buffer
	if _, err := p.Write(&small, src, WriteOptions{ChunkElems: 3 * ne0, Workers: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write(&whole, src, WriteOptions{ChunkElems: ne0 * ne1, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(small.Bytes(), whole.Bytes()) {
		t.Error("chunked output differs from whole-tensor output")
	}
}
