package planner

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestAgainstLlamaCppOnSynthFiles compares the memory model with what
// llama.cpp itself allocated when it loaded full-size files written by
// gguftool synth (testdata/planner/llamacpp/*.json, recorded with the CPU
// build of node-llama-cpp 3.22.1): the total tensor bytes (exact), every KV
// buffer (exact) and the compute buffer (0.98..1.15, as for offload.md §6.3).
func TestAgainstLlamaCppOnSynthFiles(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/planner/llamacpp/*.json")
	if len(paths) == 0 {
		t.Fatal("no llama.cpp recordings")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var d struct {
				Preset, Type   string
				ModelSizeBytes int64 `json:"model_size_bytes"`
				Contexts       []struct {
					NCtx       int       `json:"n_ctx"`
					NUBatch    int       `json:"n_ubatch"`
					KVBuffers  []float64 `json:"kv_buffers_mib"`
					ComputeMiB float64   `json:"compute_mib"`
				}
			}
			if err := json.Unmarshal(raw, &d); err != nil {
				t.Fatal(err)
			}
			m := synthModel(t, d.Preset, d.Type, 0)
			var sum int64
			for i := range m.Tensors {
				sum += int64(m.Tensors[i].Size())
			}
			if sum != d.ModelSizeBytes {
				t.Errorf("tensor bytes %d, llama.cpp %d", sum, d.ModelSizeBytes)
			}
			hp := hparams(t, m)
			for _, c := range d.Contexts {
				kv, err := hp.KVCache(c.NCtx, c.NUBatch, CacheF16)
				if err != nil {
					t.Fatal(err)
				}
				var full, swa float64
				for _, l := range kv {
					if l.Sliding {
						swa += float64(l.Bytes()) / mib
					} else {
						full += float64(l.Bytes()) / mib
					}
				}
				want := 0.0
				for _, b := range c.KVBuffers {
					want += b
				}
				if full+swa != want || (len(c.KVBuffers) == 2 && (full != c.KVBuffers[0] || swa != c.KVBuffers[1])) {
					t.Errorf("ctx %d: KV %.2f + %.2f MiB, llama.cpp %v", c.NCtx, full, swa, c.KVBuffers)
				}
				if c.ComputeMiB == 0 {
					continue // not printed for this model
				}
				got := float64(hp.ComputeBuffer(c.NCtx, c.NUBatch, true).Total()) / mib
				if r := got / c.ComputeMiB; r < 0.98 || r > 1.15 || math.IsNaN(r) {
					t.Errorf("ctx %d ub %d: compute %.1f MiB, llama.cpp %.2f (ratio %.3f)", c.NCtx, c.NUBatch, got, c.ComputeMiB, r)
				}
			}
		})
	}
}
