package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// llamaCppDump is what tools/oracle/gguf-dump.mjs recorded from llama.cpp
// (node-llama-cpp 3.22.1) for a fixture file.
type llamaCppDump struct {
	Version     uint32         `json:"version"`
	TensorCount int            `json:"tensor_count"`
	Metadata    map[string]any `json:"metadata"`
	Tensors     []struct {
		Name     string   `json:"name"`
		GGMLType uint32   `json:"ggml_type"`
		Ne       []uint64 `json:"ne"`
		Offset   uint64   `json:"offset"`
	} `json:"tensors"`
	LlamaCpp struct {
		ModelSizeBytes uint64 `json:"model_size_bytes"`
	} `json:"llama_cpp"`
}

// TestInspectAgreesWithLlamaCpp compares inspect --json --full with what
// llama.cpp read from the same file. The files kept whole in testdata are
// always checked; the others when ../shared/fixtures is present.
func TestInspectAgreesWithLlamaCpp(t *testing.T) {
	dumps, _ := filepath.Glob(filepath.Join(quantDir, "llamacpp", "*.json"))
	if len(dumps) == 0 {
		t.Fatal("no llama.cpp dumps")
	}
	checked := 0
	for _, dumpPath := range dumps {
		name := strings.TrimSuffix(filepath.Base(dumpPath), ".json") + ".gguf"
		path := filepath.Join(quantDir, name)
		if _, err := os.Stat(path); err != nil {
			path = filepath.Join("../../../shared/fixtures/quant", name)
			if _, err := os.Stat(path); err != nil {
				continue
			}
		}
		t.Run(name, func(t *testing.T) {
			var want llamaCppDump
			b, err := os.ReadFile(dumpPath)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			stdout, stderr, code := runCLI(t, "inspect", "--json", "--full", path)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got struct {
				Version  uint32                     `json:"version"`
				Metadata map[string]json.RawMessage `json:"metadata"`
				Tensors  []inspectTensor            `json:"tensors"`
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatal(err)
			}
			if got.Version != want.Version || len(got.Tensors) != want.TensorCount || len(got.Metadata) != len(want.Metadata) {
				t.Fatalf("version %d/%d, tensors %d/%d, keys %d/%d", got.Version, want.Version,
					len(got.Tensors), want.TensorCount, len(got.Metadata), len(want.Metadata))
			}
			for k, v := range want.Metadata {
				var g any
				json.Unmarshal(got.Metadata[k], &g)
				// FLOAT32 values: we print them at float32 precision,
				// node-llama-cpp as the float64 they widen to.
				if gf, ok := g.(float64); ok {
					if wf, ok := v.(float64); ok && float32(gf) == float32(wf) {
						continue
					}
				}
				if fmt.Sprint(g) != fmt.Sprint(v) {
					t.Errorf("%s: got %v, llama.cpp %v", k, g, v)
				}
			}
			var total uint64
			for i, w := range want.Tensors {
				g := got.Tensors[i]
				total += g.Size
				if g.Name != w.Name || g.Type != gguf.Type(w.GGMLType).String() || fmt.Sprint(g.Ne) != fmt.Sprint(w.Ne) || g.Offset != w.Offset {
					t.Errorf("tensor %d: got %+v, llama.cpp %+v", i, g, w)
				}
			}
			if total != want.LlamaCpp.ModelSizeBytes {
				t.Errorf("tensor bytes %d, llama.cpp's model size %d", total, want.LlamaCpp.ModelSizeBytes)
			}
		})
		checked++
	}
	t.Logf("checked %d of %d files against llama.cpp", checked, len(dumps))
	if checked == 0 {
		t.Fatal("no fixture file found for any dump")
	}
}
