package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

var update = flag.Bool("update", false, "rewrite the golden model card")

const fixtures = "../testdata/fixtures"

// Real llama.cpp files: llama-quantize's outputs and its F32 input.
var quantFixtures = []string{
	fixtures + "/quant/model-f32.gguf",
	fixtures + "/quant/presets-Q4_K_M.gguf",
	fixtures + "/quant/presets-MXFP4_MOE.gguf",
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// publishTo runs Publish into a fresh folder under a temp dir.
func publishTo(t *testing.T, opts Options) (string, *Result) {
	t.Helper()
	if opts.OutDir == "" {
		opts.OutDir = filepath.Join(t.TempDir(), "release")
	}
	if opts.Version == "" {
		opts.Version = "test"
	}
	res, err := Publish(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return opts.OutDir, res
}

func mustVerify(t *testing.T, dir string) *VerifyReport {
	t.Helper()
	r, err := Verify(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPublishSplitRoundTrip publishes the llama.cpp fixtures with a split
// size that forces several shards, checks the shards against gguf-split's
// rules, verifies the folder, and reads each set back as one model to
// compare every tensor and metadata key with the input.
func TestPublishSplitRoundTrip(t *testing.T) {
	const maxSize = 1_200_000
	dir, res := publishTo(t, Options{Models: quantFixtures, SplitMaxSize: maxSize, Planner: ProjectPlanner{}})
	if r := mustVerify(t, dir); !r.OK() {
		t.Fatalf("verify of a fresh release: %v", r.Problems)
	}
	for i, in := range quantFixtures {
		mod := res.Manifest.Models[i]
		src, err := gguf.Open(in)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		if len(mod.Files) < 2 {
			t.Fatalf("%s: %d shard(s) at a split size of %d; the test needs several", in, len(mod.Files), maxSize)
		}
		var nTensors int
		for no, f := range mod.Files {
			if want := gguf.SplitPath(mod.Name, no, len(mod.Files)); f.Name != want {
				t.Errorf("shard %d named %s, want %s", no, f.Name, want)
			}
			if f.Size > maxSize {
				t.Errorf("%s: %d bytes, above the split size %d", f.Name, f.Size, maxSize)
			}
			if got := fileSHA(t, filepath.Join(dir, f.Name)); got != f.SHA256 {
				t.Errorf("%s: sha256 while writing %s, of the file %s", f.Name, f.SHA256, got)
			}
			sh, err := gguf.OpenFile(filepath.Join(dir, f.Name))
			if err != nil {
				t.Fatal(err)
			}
			// gguf-split's key layout: the model's keys on the first shard only,
			// then split.no (u16), split.count (u16), split.tensors.count (i32).
			keys := sh.Metadata.Keys()
			wantKeys := 3
			if no == 0 {
				wantKeys += src.Metadata.Len()
			}
			if len(keys) != wantKeys || keys[len(keys)-3] != gguf.KeySplitNo || keys[len(keys)-2] != gguf.KeySplitCount || keys[len(keys)-1] != gguf.KeySplitTensorsCount {
				t.Errorf("%s: keys %v", f.Name, keys[max(0, len(keys)-4):])
			}
			for _, k := range []struct {
				key string
				typ gguf.ValueType
			}{{gguf.KeySplitNo, gguf.ValueUint16}, {gguf.KeySplitCount, gguf.ValueUint16}, {gguf.KeySplitTensorsCount, gguf.ValueInt32}} {
				if v, ok := sh.Metadata.Get(k.key); !ok || v.Type() != k.typ {
					t.Errorf("%s: %s missing or not of gguf-split's type", f.Name, k.key)
				}
			}
			if n, err := sh.Metadata.Int(gguf.KeySplitNo); err != nil || n != int64(no) {
				t.Errorf("%s: split.no %d %v", f.Name, n, err)
			}
			if n, err := sh.Metadata.Int32(gguf.KeySplitTensorsCount); err != nil || int(n) != len(src.Tensors) {
				t.Errorf("%s: split.tensors.count %d %v, want %d", f.Name, n, err, len(src.Tensors))
			}
			nTensors += len(sh.Tensors)
			if len(sh.Tensors) != f.Tensors || len(sh.Tensors) == 0 {
				t.Errorf("%s: %d tensors, manifest says %d", f.Name, len(sh.Tensors), f.Tensors)
			}
			sh.Close()
		}
		if nTensors != len(src.Tensors) {
			t.Errorf("%s: shards hold %d tensors, input %d", in, nTensors, len(src.Tensors))
		}

		whole, err := gguf.Open(filepath.Join(dir, mod.Files[0].Name))
		if err != nil {
			t.Fatal(err)
		}
		defer whole.Close()
		if len(whole.Shards) != len(mod.Files) {
			t.Errorf("read back %d shards, wrote %d", len(whole.Shards), len(mod.Files))
		}
		for _, kv := range src.Metadata.KVs() {
			got, ok := whole.Metadata.Get(kv.Key)
			if !ok || !sameValue(got, kv.Value) {
				t.Errorf("%s: key %s differs after the split", in, kv.Key)
			}
		}
		if len(whole.Tensors) != len(src.Tensors) {
			t.Fatalf("%s: %d tensors read back, want %d", in, len(whole.Tensors), len(src.Tensors))
		}
		for k := range src.Tensors {
			a, b := &src.Tensors[k], &whole.Tensors[k]
			if a.Name != b.Name || a.Type != b.Type || !equalDims(a.Dims, b.Dims) {
				t.Fatalf("%s: tensor %d is %s %v %v, read back %s %v %v", in, k, a.Name, a.Type, a.Dims, b.Name, b.Type, b.Dims)
			}
			if !bytes.Equal(src.Data(a), whole.Data(b)) {
				t.Errorf("%s: tensor %s: data differs after the split", in, a.Name)
			}
		}
	}
}

func sameValue(a, b gguf.Value) bool {
	return a.Type() == b.Type() && a.ElemType() == b.ElemType() && reflect.DeepEqual(a.Any(), b.Any())
}

func equalDims(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestPublishUnsplitIsByteIdentical: a model under the split size is
// rewritten through the streaming writer; for llama.cpp's own files that
// must give the very same bytes (so the published sha256 is the input's).
func TestPublishUnsplitIsByteIdentical(t *testing.T) {
	dir, res := publishTo(t, Options{Models: quantFixtures})
	for i, in := range quantFixtures {
		files := res.Manifest.Models[i].Files
		if len(files) != 1 {
			t.Fatalf("%s: %d files at 48 GB", in, len(files))
		}
		if want := fileSHA(t, in); files[0].SHA256 != want {
			t.Errorf("%s: published sha256 %s, input %s", in, files[0].SHA256, want)
		}
		if got := fileSHA(t, filepath.Join(dir, files[0].Name)); got != files[0].SHA256 {
			t.Errorf("%s: file sha256 %s, recorded %s", files[0].Name, got, files[0].SHA256)
		}
	}
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fileSHA(t, quantFixtures[1]) + "  presets-Q4_K_M.gguf\n"; !strings.Contains(string(sums), want) {
		t.Errorf("SHA256SUMS lacks %q:\n%s", want, sums)
	}
}

// TestPublishRejoinsSplitInput: a split model given as input (its first
// shard) and published under the split size comes out as one file equal,
// byte for byte, to the file llama.cpp wrote before the split.
func TestPublishRejoinsSplitInput(t *testing.T) {
	split, res := publishTo(t, Options{Models: quantFixtures[1:2], SplitMaxSize: 1_000_000})
	first := filepath.Join(split, res.Manifest.Models[0].Files[0].Name)
	dir, res := publishTo(t, Options{Models: []string{first}})
	files := res.Manifest.Models[0].Files
	if len(files) != 1 || files[0].Name != "presets-Q4_K_M.gguf" {
		t.Fatalf("rejoined as %v", files)
	}
	if got, want := fileSHA(t, filepath.Join(dir, files[0].Name)), fileSHA(t, quantFixtures[1]); got != want {
		t.Errorf("rejoined file sha256 %s, llama.cpp's original %s", got, want)
	}
}
