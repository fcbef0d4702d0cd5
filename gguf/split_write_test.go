package gguf

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanSplitWritesReadableShards splits a real llama.cpp file into
// shards of at most 400 KB, writes them, and reads them back as one model.
func TestPlanSplitWritesReadableShards(t *testing.T) {
	src, err := OpenFile("../testdata/fixtures/quant/presets-Q4_K_M.gguf")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	const maxSize = 400_000
	starts, err := PlanSplit(src.Metadata, src.Tensors, maxSize)
	if err != nil {
		t.Fatal(err)
	}
	if len(starts) < 3 {
		t.Fatalf("expected several shards, got %d", len(starts))
	}
	dir := t.TempDir()
	prefix := filepath.Join(dir, "model")
	for s, start := range starts {
		end := len(src.Tensors)
		if s+1 < len(starts) {
			end = starts[s+1]
		}
		var buf bytes.Buffer
		w, err := NewWriter(&buf, ShardMetadata(src.Metadata, s, len(starts), len(src.Tensors)), src.Tensors[start:end])
		if err != nil {
			t.Fatal(err)
		}
		for i := start; i < end; i++ {
			if err := w.WriteTensorBytes(src.Tensors[i].Name, src.Data(&src.Tensors[i])); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if buf.Len() > maxSize {
			t.Fatalf("shard %d is %d bytes, over %d", s, buf.Len(), maxSize)
		}
		os.WriteFile(SplitPath(prefix, s, len(starts)), buf.Bytes(), 0o644)
	}
	f, err := Open(SplitPath(prefix, 0, len(starts)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range src.Tensors {
		got, err := f.TensorData(src.Tensors[i].Name)
		if err != nil || !bytes.Equal(got, src.Data(&src.Tensors[i])) {
			t.Fatalf("tensor %s differs after split: %v", src.Tensors[i].Name, err)
		}
	}
	if v, _ := f.Metadata.String(KeyArchitecture); v != "deepseek" {
		t.Fatalf("architecture %q", v)
	}
	if _, err := PlanSplit(src.Metadata, src.Tensors, 100_000); err == nil || !strings.Contains(err.Error(), "at least the largest tensor") {
		t.Fatalf("too small a split: %v", err)
	}
}
