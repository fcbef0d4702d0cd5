package quant

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
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
	if rss, ok := rssFile(); ok {
		t.Logf("file-backed RSS after writing: %.1f MiB", float64(rss)/(1<<20))
		if rss > 24<<20 {
			t.Errorf("file-backed RSS %d bytes after streaming a 32 MiB tensor: source pages not released", rss)
		}
	}
	// The copy path (F32 to F32) releases its pages too.
	cp, err := NewRecipe(FtypeAllF32).Plan(src.Metadata, src.Tensors)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Write(io.Discard, src, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if rss, ok := rssFile(); ok && rss > 24<<20 {
		t.Errorf("file-backed RSS %d bytes after copying a 32 MiB tensor", rss)
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

// TestWriteRejectsNonFinite: a NaN in a tensor to quantize is an error
// naming the tensor and element, as llama-quantize's validation fails.
func TestWriteRejectsNonFinite(t *testing.T) {
	md := gguf.NewMetadata()
	md.Set(gguf.KeyArchitecture, gguf.String("llama"))
	md.Set("llama.block_count", gguf.Uint32(1))
	ti := []gguf.TensorInfo{{Name: "blk.0.attn_q.weight", Type: gguf.TypeF32, Dims: []uint64{32, 2}}}
	data := make([]byte, 4*64)
	binary.LittleEndian.PutUint32(data[4*40:], math.Float32bits(float32(math.NaN())))
	path := filepath.Join(t.TempDir(), "nan.gguf")
	var buf bytes.Buffer
	w, err := gguf.NewWriter(&buf, md, ti)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteTensorBytes(ti[0].Name, data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, f := range []Ftype{FtypeQ8_0, FtypeF16} {
		p, err := NewRecipe(f).Plan(src.Metadata, src.Tensors)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Write(io.Discard, src, WriteOptions{})
		if err == nil || !strings.Contains(err.Error(), "blk.0.attn_q.weight") || !strings.Contains(err.Error(), "element 40") {
			t.Errorf("%s: NaN input: %v", f, err)
		}
	}
}

// rssFile reads RssFile (resident file-backed pages) of this process from
// /proc/self/status, where available.
func rssFile() (int64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "RssFile:"); ok {
			var kb int64
			if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kb); err != nil {
				return 0, false
			}
			return kb << 10, true
		}
	}
	return 0, false
}
