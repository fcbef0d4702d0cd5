package convert

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// copyFixture copies a fixture directory (files only) into a temporary
// directory named like the fixture.
func copyFixtureDir(t *testing.T, family string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), family)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(fixtureRoot, family)
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// editJSON rewrites a JSON file of dir through f.
func editJSON(t *testing.T, path string, f func(m map[string]any)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, _ = json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rewriteCheckpoint replaces dir's checkpoint by a single model.safetensors
// made by edit from the original tensors (edit may drop or change them).
func rewriteCheckpoint(t *testing.T, dir string, edit func([]stTensor) []stTensor) {
	t.Helper()
	c, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ts []stTensor
	for _, x := range c.Order {
		ts = append(ts, stTensor{x.Name, x.DType, x.Shape, append([]byte(nil), x.Bytes()...)})
	}
	var files []string
	for _, f := range c.Files {
		files = append(files, f.Path)
	}
	c.Close()
	for _, f := range files {
		os.Remove(f)
	}
	os.Remove(filepath.Join(dir, IndexFile))
	writeSafetensors(t, filepath.Join(dir, "model.safetensors"), edit(ts))
}

func planErr(t *testing.T, dir string) error {
	t.Helper()
	p, err := NewPlan(dir, Options{OutType: "f16"})
	if err == nil {
		p.Close()
		return errors.New("<no error>")
	}
	return err
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func TestConvertErrors(t *testing.T) {
	t.Run("unknown architecture", func(t *testing.T) {
		dir := copyFixtureDir(t, "deepseek-moe")
		editJSON(t, filepath.Join(dir, "config.json"), func(m map[string]any) { m["architectures"] = []any{"LlamaForCausalLM"} })
		wantErr(t, planErr(t, dir), `"LlamaForCausalLM" is not supported`, "GptOssForCausalLM", "PhiMoEForCausalLM", "DeepseekForCausalLM", "DeepseekV2ForCausalLM")
	})
	t.Run("missing shard", func(t *testing.T) {
		dir := copyFixtureDir(t, "phimoe")
		os.Remove(filepath.Join(dir, "model-00002-of-00002.safetensors"))
		wantErr(t, planErr(t, dir), "model-00002-of-00002.safetensors", "missing")
	})
	t.Run("tensor listed in index missing from shard", func(t *testing.T) {
		dir := copyFixtureDir(t, "phimoe")
		editJSON(t, filepath.Join(dir, IndexFile), func(m map[string]any) {
			m["weight_map"].(map[string]any)["model.layers.0.extra.weight"] = "model-00001-of-00002.safetensors"
		})
		wantErr(t, planErr(t, dir), "model.layers.0.extra.weight", "missing from shard")
	})
	t.Run("missing expert", func(t *testing.T) {
		dir := copyFixtureDir(t, "phimoe")
		rewriteCheckpoint(t, dir, func(ts []stTensor) []stTensor {
			var out []stTensor
			for _, x := range ts {
				if x.name != "model.layers.1.block_sparse_moe.experts.3.w2.weight" {
					out = append(out, x)
				}
			}
			return out
		})
		wantErr(t, planErr(t, dir), "layer 1", "23 of the 24 expert tensors")
	})
	t.Run("missing MXFP4 blocks", func(t *testing.T) {
		dir := copyFixtureDir(t, "gpt-oss")
		rewriteCheckpoint(t, dir, func(ts []stTensor) []stTensor {
			var out []stTensor
			for _, x := range ts {
				if x.name != "model.layers.2.mlp.experts.gate_up_proj_blocks" {
					out = append(out, x)
				}
			}
			return out
		})
		wantErr(t, planErr(t, dir), `"model.layers.2.mlp.experts.gate_up_proj_blocks" is missing`)
	})
	t.Run("shape disagrees with config", func(t *testing.T) {
		dir := copyFixtureDir(t, "deepseek-moe")
		editJSON(t, filepath.Join(dir, "config.json"), func(m map[string]any) { m["moe_intermediate_size"] = 128 })
		wantErr(t, planErr(t, dir), "has shape [256 256]", "config.json implies [256 128]")
	})
	t.Run("unsupported dtype", func(t *testing.T) {
		dir := copyFixtureDir(t, "deepseek-v2-lite")
		rewriteCheckpoint(t, dir, func(ts []stTensor) []stTensor {
			for i, x := range ts {
				if x.name == "model.layers.0.self_attn.o_proj.weight" {
					ts[i].dtype = dtF64
					ts[i].data = append(x.data, x.data...)
					ts[i].data = append(ts[i].data, ts[i].data...)
				}
			}
			return ts
		})
		wantErr(t, planErr(t, dir), "model.layers.0.self_attn.o_proj.weight", "dtype F64 is not supported", "BF16")
	})
	t.Run("unmapped tensor", func(t *testing.T) {
		dir := copyFixtureDir(t, "deepseek-moe")
		rewriteCheckpoint(t, dir, func(ts []stTensor) []stTensor {
			return append(ts, stTensor{"model.layers.0.self_attn.mystery.weight", BF16, []int64{2}, make([]byte, 4)})
		})
		wantErr(t, planErr(t, dir), "model.layers.0.self_attn.mystery.weight", "no GGUF name")
	})
	t.Run("bad outtype", func(t *testing.T) {
		_, err := NewPlan(filepath.Join(fixtureRoot, "phimoe"), Options{OutType: "q4_0"})
		wantErr(t, err, `unknown outtype "q4_0"`)
	})
}

// failingWriter fails like a full disk after limit bytes.
type failingWriter struct{ n, limit int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		k := w.limit - w.n
		w.n = w.limit
		return k, &os.PathError{Op: "write", Path: "out.gguf", Err: syscall.ENOSPC}
	}
	w.n += len(p)
	return len(p), nil
}

func TestWriteErrors(t *testing.T) {
	p, err := NewPlan(filepath.Join(fixtureRoot, "phimoe"), Options{OutType: "bf16"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	err = p.Write(context.Background(), &failingWriter{limit: 3 << 20}, 2, nil)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("disk full: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Write(ctx, io.Discard, 2, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: got %v", err)
	}
	// A complete write reports every byte through progress.
	var last int64
	if err := p.Write(context.Background(), io.Discard, 3, func(n int64) { last = n }); err != nil {
		t.Fatal(err)
	}
	if last != p.DataSize() {
		t.Fatalf("progress ended at %d of %d bytes", last, p.DataSize())
	}
}
