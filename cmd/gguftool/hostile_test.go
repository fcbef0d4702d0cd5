package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// hostileEnv is a folder of broken inputs built once for TestHostileInputs.
type hostileEnv struct {
	dir   string
	model string // a good tiny gpt-oss GGUF (synth)
}

func (e *hostileEnv) p(name string) string { return filepath.Join(e.dir, name) }

// rewriteGGUF copies src to dst with its metadata edited by edit: a file
// that parses but describes an impossible model.
func rewriteGGUF(t *testing.T, src, dst string, edit func(md *gguf.Metadata)) {
	t.Helper()
	f, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	md := f.Metadata.Clone()
	edit(md)
	laid, _, err := gguf.Layout(md, f.Tensors)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := gguf.NewWriter(&buf, md, laid)
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
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeNaNModel writes a one-tensor F32 GGUF whose weights are all NaN.
func writeNaNModel(t *testing.T, path string) {
	t.Helper()
	md := gguf.NewMetadata()
	md.Set(gguf.KeyArchitecture, gguf.String("gpt-oss"))
	md.Set("gpt-oss.block_count", gguf.Uint32(1))
	ts, _, err := gguf.Layout(md, []gguf.TensorInfo{{Name: "blk.0.attn_q.weight", Type: gguf.TypeF32, Dims: []uint64{256, 4}}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := gguf.NewWriter(&buf, md, ts)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, ts[0].Size())
	for i := 0; i < len(data); i += 4 {
		copy(data[i:], []byte{0, 0, 0xc0, 0x7f}) // quiet NaN
	}
	if err := w.WriteTensorBytes(ts[0].Name, data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyCheckpoint copies the gpt-oss fixture's files to dir/name and applies
// edit to its config.json (nil: unchanged).
func copyCheckpoint(t *testing.T, dir, name string, edit func(cfg map[string]any)) string {
	t.Helper()
	src := "../../testdata/fixtures/gpt-oss"
	dst := filepath.Join(dir, name)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
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
		if e.Name() == "config.json" && edit != nil {
			var cfg map[string]any
			if err := json.Unmarshal(b, &cfg); err != nil {
				t.Fatal(err)
			}
			edit(cfg)
			b, _ = json.Marshal(cfg)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func newHostileEnv(t *testing.T) *hostileEnv {
	t.Helper()
	e := &hostileEnv{dir: t.TempDir()}
	e.model = e.p("model.gguf")
	if _, errOut, code := runCLI(t, "synth", "--preset", "tiny-gpt-oss", "-o", e.model); code != exitOK {
		t.Fatalf("synth: exit %d: %s", code, errOut)
	}
	good, err := os.ReadFile(e.model)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(e.p(name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("empty.gguf", nil)
	write("text.gguf", []byte("hello, not a model\n"))
	write("cut100.gguf", good[:100])           // inside the metadata
	write("cut100k.gguf", good[:100_000])      // inside the tensor data
	write("cutlast.gguf", good[:len(good)-1])  // one byte short
	write("plan.json", []byte(`{"schema": 1`)) // broken manifest
	write("exists.gguf", []byte("keep me"))
	if err := os.Mkdir(e.p("sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(e.p("fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	arch := "gpt-oss."
	for name, edit := range map[string]func(md *gguf.Metadata){
		"used100.gguf": func(md *gguf.Metadata) { md.Set(arch+"expert_used_count", gguf.Uint32(100)) },
		"layers0.gguf": func(md *gguf.Metadata) { md.Set(arch+"block_count", gguf.Uint32(0)) },
		"layers1.gguf": func(md *gguf.Metadata) { md.Set(arch+"block_count", gguf.Uint32(1)) }, // tensors of 3 layers
		"kv0.gguf":     func(md *gguf.Metadata) { md.Set(arch+"attention.head_count_kv", gguf.Uint32(0)) },
		"notok.gguf":   func(md *gguf.Metadata) { md.Delete("tokenizer.ggml.tokens") },
		"noarch.gguf":  func(md *gguf.Metadata) { md.Delete(gguf.KeyArchitecture) },
	} {
		rewriteGGUF(t, e.model, e.p(name), edit)
	}

	writeNaNModel(t, e.p("nan.gguf"))
	copyCheckpoint(t, e.dir, "ckpt", nil)
	copyCheckpoint(t, e.dir, "ckpt-layers0", func(c map[string]any) { c["num_hidden_layers"] = 0 })
	copyCheckpoint(t, e.dir, "ckpt-layers100", func(c map[string]any) { c["num_hidden_layers"] = 100 })
	copyCheckpoint(t, e.dir, "ckpt-used99", func(c map[string]any) { c["num_experts_per_tok"] = 99 })
	copyCheckpoint(t, e.dir, "ckpt-layersstr", func(c map[string]any) { c["num_hidden_layers"] = "three" })
	copyCheckpoint(t, e.dir, "ckpt-noarch", func(c map[string]any) { delete(c, "architectures") })
	d := copyCheckpoint(t, e.dir, "ckpt-badjson", nil)
	os.WriteFile(filepath.Join(d, "config.json"), []byte(`{"architectures": [`), 0o644)
	d = copyCheckpoint(t, e.dir, "ckpt-noshard", nil)
	os.Remove(filepath.Join(d, "model-00002-of-00002.safetensors"))
	d = copyCheckpoint(t, e.dir, "ckpt-cutshard", nil)
	shard := filepath.Join(d, "model-00001-of-00002.safetensors")
	b, _ := os.ReadFile(shard)
	os.WriteFile(shard, b[:len(b)/2], 0o644)
	d = copyCheckpoint(t, e.dir, "ckpt-tailshard", nil)
	shard = filepath.Join(d, "model-00002-of-00002.safetensors")
	b, _ = os.ReadFile(shard)
	os.WriteFile(shard, append(b, "junk"...), 0o644)
	d = copyCheckpoint(t, e.dir, "ckpt-badtok", nil)
	os.WriteFile(filepath.Join(d, "tokenizer.json"), []byte(`{"model": {"type": "BPE", "vocab": 5`), 0o644)
	return e
}

// TestHostileInputs runs every command on missing, empty, truncated and
// corrupted inputs, impossible model geometry, bad outputs and bad flag
// values. Each case pins the documented exit code (0 ok, 1 error, 2 usage,
// 3 infeasible), a one-line error naming the culprit, no panic (a panic
// fails the whole test binary), and no output or temporary file left
// behind.
func TestHostileInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a dozen inputs")
	}
	e := newHostileEnv(t)
	m := e.model
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // substring of the error
		gone string // path that must not exist afterwards ("" none)
	}{
		// Unreadable GGUF inputs, through every command that reads one.
		{"inspect missing", []string{"inspect", e.p("nope.gguf")}, exitError, "nope.gguf: no such file", ""},
		{"inspect directory", []string{"inspect", e.p("sub")}, exitError, "sub: not a regular file", ""},
		{"inspect empty", []string{"inspect", e.p("empty.gguf")}, exitError, "empty.gguf: byte 0: truncated magic", ""},
		{"inspect text", []string{"inspect", "--json", e.p("text.gguf")}, exitError, `bad magic "hell"`, ""},
		{"inspect cut in metadata", []string{"inspect", e.p("cut100.gguf")}, exitError, "cut100.gguf: byte", ""},
		{"inspect cut in data", []string{"inspect", e.p("cut100k.gguf")}, exitError, "extends past the end of the file", ""},
		{"inspect one byte short", []string{"inspect", e.p("cutlast.gguf")}, exitError, "extends past the end of the file", ""},
		{"inspect fifo", []string{"inspect", e.p("fifo")}, exitError, "not a regular file", ""},
		{"quantize truncated", []string{"quantize", e.p("cut100k.gguf"), e.p("q.gguf"), "Q8_0"}, exitError, "cut100k.gguf", e.p("q.gguf")},
		{"plan truncated", []string{"plan", e.p("cut100.gguf"), "--vram", "1GiB"}, exitError, "cut100.gguf: byte", ""},
		{"run truncated", []string{"run", e.p("cutlast.gguf"), "-p", "hi"}, exitError, "cutlast.gguf", ""},
		{"bench empty", []string{"bench", e.p("empty.gguf")}, exitError, "empty.gguf", ""},
		{"tokenize text", []string{"tokenize", e.p("text.gguf"), "hi"}, exitError, "text.gguf", ""},
		{"detokenize missing", []string{"detokenize", e.p("nope.gguf"), "1"}, exitError, "nope.gguf", ""},
		{"publish truncated", []string{"publish", e.p("cut100k.gguf"), "-o", e.p("rel")}, exitError, "cut100k.gguf", e.p("rel")},

		// GGUFs that parse but describe impossible models.
		{"quantize NaN weights", []string{"quantize", "--pure", e.p("nan.gguf"), e.p("q.gguf"), "Q8_0"}, exitError, "quantizing " + e.p("nan.gguf") + " into " + e.p("q.gguf") + ": tensor blk.0.attn_q.weight: element 0 is NaN", e.p("q.gguf")},
		{"run expert_used_count > expert_count", []string{"run", e.p("used100.gguf"), "-p", "hi", "-n", "1"}, exitError, "gpt-oss.expert_used_count", ""},
		{"bench expert_used_count > expert_count", []string{"bench", e.p("used100.gguf"), "-r", "1", "-p", "2", "-n", "1"}, exitError, "gpt-oss.expert_used_count", ""},
		{"run 0 layers", []string{"run", e.p("layers0.gguf"), "-p", "hi", "-n", "1"}, exitError, "gpt-oss.block_count", ""},
		{"plan 0 layers", []string{"plan", e.p("layers0.gguf"), "--vram", "1GiB"}, exitError, "gpt-oss.block_count", ""},
		{"run fewer layers than tensors", []string{"run", e.p("layers1.gguf"), "-p", "hi", "-n", "1"}, exitError, "blk.1.", ""},
		{"plan fewer layers than tensors", []string{"plan", e.p("layers1.gguf"), "--vram", "1GiB"}, exitError, "gpt-oss.block_count is 1", ""},
		{"publish fewer layers than tensors", []string{"publish", e.p("layers1.gguf"), "-o", e.p("rel")}, exitError, "block_count", e.p("rel")},
		{"quantize fewer layers than tensors", []string{"quantize", e.p("layers1.gguf"), e.p("q.gguf"), "Q8_0", "--allow-requantize"}, exitError, "gpt-oss.block_count = 1", e.p("q.gguf")},
		{"plan 0 KV heads", []string{"plan", e.p("kv0.gguf"), "--vram", "1GiB"}, exitError, "gpt-oss.attention.head_count_kv", ""},
		{"plan expert_used_count > expert_count", []string{"plan", e.p("used100.gguf"), "--vram", "1GiB"}, exitError, "gpt-oss.expert_used_count", ""},
		{"tokenize without vocabulary", []string{"tokenize", e.p("notok.gguf"), "hi"}, exitError, "tokenizer.ggml.tokens", ""},
		{"detokenize without vocabulary", []string{"detokenize", e.p("notok.gguf"), "1"}, exitError, "tokenizer.ggml.tokens", ""},
		{"quantize without architecture", []string{"quantize", e.p("noarch.gguf"), e.p("q.gguf"), "Q8_0"}, exitError, "general.architecture", e.p("q.gguf")},
		{"run without architecture", []string{"run", e.p("noarch.gguf"), "-p", "hi"}, exitError, "general.architecture", ""},

		// Checkpoints.
		{"convert missing dir", []string{"convert", e.p("nope"), "-o", e.p("c.gguf")}, exitError, "nope", e.p("c.gguf")},
		{"convert a file", []string{"convert", m, "-o", e.p("c.gguf")}, exitUsage, "is not a model directory", e.p("c.gguf")},
		{"convert empty dir", []string{"convert", e.p("sub"), "-o", e.p("c.gguf")}, exitError, "config.json", e.p("c.gguf")},
		{"convert broken config.json", []string{"convert", e.p("ckpt-badjson"), "-o", e.p("c.gguf")}, exitError, "config.json", e.p("c.gguf")},
		{"convert no architectures", []string{"convert", e.p("ckpt-noarch"), "-o", e.p("c.gguf")}, exitError, `no "architectures"`, e.p("c.gguf")},
		{"convert 0 layers", []string{"convert", e.p("ckpt-layers0"), "-o", e.p("c.gguf")}, exitError, `"num_hidden_layers" is 0`, e.p("c.gguf")},
		{"convert more layers than tensors", []string{"convert", e.p("ckpt-layers100"), "-o", e.p("c.gguf")}, exitError, "no tensors for layer 3", e.p("c.gguf")},
		{"convert layers as a string", []string{"convert", e.p("ckpt-layersstr"), "-o", e.p("c.gguf")}, exitError, `"num_hidden_layers" must be an integer`, e.p("c.gguf")},
		{"convert experts_per_tok > experts", []string{"convert", e.p("ckpt-used99"), "-o", e.p("c.gguf")}, exitError, "expert_used_count is 99", e.p("c.gguf")},
		{"convert missing shard", []string{"convert", e.p("ckpt-noshard"), "-o", e.p("c.gguf")}, exitError, "model-00002-of-00002.safetensors", e.p("c.gguf")},
		{"convert truncated shard", []string{"convert", e.p("ckpt-cutshard"), "-o", e.p("c.gguf")}, exitError, "model-00001-of-00002.safetensors", e.p("c.gguf")},
		{"convert shard with trailing bytes", []string{"convert", e.p("ckpt-tailshard"), "-o", e.p("c.gguf")}, exitError, "model-00002-of-00002.safetensors: the tensors end at byte", e.p("c.gguf")},
		{"convert broken tokenizer.json", []string{"convert", e.p("ckpt-badtok"), "-o", e.p("c.gguf")}, exitError, "tokenizer.json", e.p("c.gguf")},
		{"convert bad outtype", []string{"convert", e.p("ckpt"), "-o", e.p("c.gguf"), "--outtype", "q4_0"}, exitUsage, `--outtype "q4_0"`, e.p("c.gguf")},
		{"convert negative threads", []string{"convert", e.p("ckpt"), "-o", e.p("c.gguf"), "-t", "-1"}, exitUsage, "--threads", e.p("c.gguf")},
		{"convert without -o", []string{"convert", e.p("ckpt")}, exitUsage, "-o", ""},
		{"convert over its own config.json", []string{"convert", e.p("ckpt"), "-o", e.p("ckpt/config.json"), "--force"}, exitUsage, "of the checkpoint", ""},

		// Outputs.
		{"quantize into a missing dir", []string{"quantize", m, e.p("nodir/q.gguf"), "Q8_0", "--allow-requantize"}, exitError, "directory " + e.p("nodir") + " does not exist", e.p("nodir")},
		{"quantize over an existing file", []string{"quantize", m, e.p("exists.gguf"), "Q8_0", "--allow-requantize"}, exitError, "already exists (use --force", ""},
		{"quantize onto itself", []string{"quantize", m, m, "Q8_0", "--force"}, exitUsage, "is the input file", ""},
		{"quantize onto a directory", []string{"quantize", m, e.p("sub"), "Q8_0", "--force", "--allow-requantize"}, exitError, "is a directory", ""},
		{"quantize onto a fifo", []string{"quantize", m, e.p("fifo"), "Q8_0", "--force", "--allow-requantize"}, exitError, "not a regular file", ""},
		{"convert into a missing dir", []string{"convert", e.p("ckpt"), "-o", e.p("nodir/c.gguf")}, exitError, "does not exist", e.p("nodir")},
		{"convert onto a directory", []string{"convert", e.p("ckpt"), "-o", e.p("sub"), "--force"}, exitError, "is a directory", ""},
		{"synth over an existing file", []string{"synth", "--preset", "tiny-gpt-oss", "-o", e.p("exists.gguf")}, exitError, "already exists", ""},
		{"synth into a missing dir", []string{"synth", "--preset", "tiny-gpt-oss", "-o", e.p("nodir/s.gguf")}, exitError, "does not exist", e.p("nodir")},
		{"plan -o onto the model", []string{"plan", m, "--vram", "1GiB", "-o", m, "--force"}, exitUsage, "is the model file", ""},
		{"plan negative --n-cpu-moe", []string{"plan", m, "--vram", "1GiB", "--n-cpu-moe", "-1"}, exitUsage, "--n-cpu-moe must be ≥ 0", ""},
		{"plan --cpu-moe and --n-cpu-moe", []string{"plan", m, "--vram", "1GiB", "--cpu-moe", "--n-cpu-moe", "3"}, exitUsage, "give one", ""},
		{"run --n-cpu-moe with a plan file", []string{"run", m, "--plan", e.p("plan.json"), "--n-cpu-moe", "2", "--tokens", "1", "-n", "1"}, exitUsage, "go with --vram", ""},
		{"plan -o over an existing file", []string{"plan", m, "--vram", "1GiB", "-o", e.p("exists.gguf")}, exitError, "already exists", ""},
		{"publish --force into a folder that is no release", []string{"publish", m, "-o", e.p("ckpt"), "--force"}, exitError, "not a gguftool release", ""},
		{"publish into a missing dir", []string{"publish", m, "-o", e.p("nodir/b/rel")}, exitError, "directory " + e.p("nodir/b") + " does not exist", e.p("nodir")},
		{"publish into an existing file", []string{"publish", m, "-o", e.p("exists.gguf"), "--force"}, exitError, "not a folder", ""},
		{"run --logits-out over an existing file", []string{"run", m, "-p", "hi", "-n", "1", "--logits-out", e.p("exists.gguf")}, exitError, "already exists", ""},

		// Flag values.
		{"quantize unknown type", []string{"quantize", m, e.p("q.gguf"), "Q9_X"}, exitUsage, `"Q9_X"`, e.p("q.gguf")},
		{"quantize bad --tensor-type", []string{"quantize", "--tensor-type", "(=q8_0", m, e.p("q.gguf"), "Q8_0"}, exitUsage, "--tensor-type", e.p("q.gguf")},
		{"quantize bad --experts", []string{"quantize", "--experts", "foo", m, e.p("q.gguf"), "Q8_0"}, exitUsage, "--experts", e.p("q.gguf")},
		{"plan without --vram", []string{"plan", m}, exitUsage, "--vram", ""},
		{"plan --vram garbage", []string{"plan", m, "--vram", "lots"}, exitUsage, "--vram", ""},
		{"plan --vram negative", []string{"plan", m, "--vram", "-1GiB"}, exitUsage, "--vram", ""},
		{"plan --vram 0", []string{"plan", m, "--vram", "0"}, exitInfeasible, "does not fit", ""},
		{"plan --ctx 0", []string{"plan", m, "--vram", "1GiB", "--ctx", "0"}, exitUsage, "--ctx 0", ""},
		{"plan --ubatch -1", []string{"plan", m, "--vram", "1GiB", "--ubatch", "-1"}, exitUsage, "--ubatch", ""},
		{"plan --cache-type q4", []string{"plan", m, "--vram", "1GiB", "--cache-type", "q4"}, exitUsage, "--cache-type", ""},
		{"plan --runtime unknown", []string{"plan", m, "--vram", "1GiB", "--runtime", "vllm"}, exitUsage, "--runtime", ""},
		{"plan --preset unknown", []string{"plan", "--preset", "llama-7b", "--vram", "1GiB"}, exitUsage, "llama-7b", ""},
		{"synth --layers -1", []string{"synth", "--preset", "tiny-gpt-oss", "--layers", "-1", "-o", e.p("s.gguf")}, exitUsage, "--layers", e.p("s.gguf")},
		{"synth unknown preset", []string{"synth", "--preset", "nope", "-o", e.p("s.gguf")}, exitUsage, "nope", e.p("s.gguf")},
		{"run -n -1", []string{"run", m, "-p", "hi", "-n", "-1"}, exitUsage, "-n", ""},
		{"run without a prompt", []string{"run", m}, exitUsage, "-p", ""},
		{"run --tokens garbage", []string{"run", m, "--tokens", "1,x"}, exitUsage, `"x"`, ""},
		{"run --tokens outside the vocabulary", []string{"run", m, "--tokens", "99999", "-n", "1"}, exitError, "99999", ""},
		{"run --vram garbage", []string{"run", m, "-p", "hi", "--vram", "lots"}, exitUsage, "--vram", ""},
		{"run --vram too small", []string{"run", m, "-p", "hi", "--vram", "1KiB"}, exitInfeasible, "does not fit", ""},
		{"run --plan broken", []string{"run", m, "-p", "hi", "--plan", e.p("plan.json")}, exitError, "plan.json", ""},
		{"bench --vram too small", []string{"bench", m, "--vram", "1KiB"}, exitInfeasible, "does not fit", ""},
		{"bench --reps 0", []string{"bench", m, "-r", "0"}, exitUsage, "--reps", ""},
		{"tokenize --file missing", []string{"tokenize", m, "--file", e.p("nope.txt")}, exitError, "nope.txt", ""},
		{"detokenize garbage id", []string{"detokenize", m, "abc"}, exitUsage, `"abc"`, ""},
		{"detokenize id outside the vocabulary", []string{"detokenize", m, "999999"}, exitError, "token id 999999 is outside the vocabulary of " + m + " (", ""},
		{"detokenize negative id", []string{"detokenize", m, "1,-1"}, exitUsage, `"-1" is negative`, ""},
		{"publish without -o", []string{"publish", m}, exitUsage, "-o DIR", ""},
		{"publish --split-max-size 0", []string{"publish", m, "-o", e.p("rel"), "--split-max-size", "0"}, exitUsage, "--split-max-size", e.p("rel")},
		{"publish bad --base-model", []string{"publish", m, "-o", e.p("rel"), "--base-model", "no slash"}, exitUsage, "--base-model", e.p("rel")},
		{"publish bad --repo", []string{"publish", m, "-o", e.p("rel"), "--repo", "a/b/c"}, exitUsage, "--repo", e.p("rel")},
		{"publish --bench missing", []string{"publish", m, "-o", e.p("rel"), "--bench", e.p("nope.json")}, exitError, "nope.json", e.p("rel")},
		{"verify missing", []string{"verify", e.p("nope")}, exitError, "nope", ""},
		{"verify a file", []string{"verify", m}, exitError, "not a folder", ""},
		{"verify empty folder", []string{"verify", e.p("sub")}, exitError, "problem", ""},
		{"devices with an argument", []string{"devices", "x"}, exitUsage, "accepts 0 arg", ""},
		{"unknown command", []string{"frobnicate"}, exitUsage, "unknown command", ""},
		{"unknown flag", []string{"inspect", "--nope", m}, exitUsage, "unknown flag", ""},
		{"non-integer flag", []string{"run", m, "-p", "hi", "-n", "abc"}, exitUsage, "invalid argument", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errOut)
			}
			if tc.code != exitOK {
				msg := strings.TrimSpace(errOut)
				if !strings.Contains(msg, tc.want) {
					t.Errorf("error %q does not mention %q", msg, tc.want)
				}
				if strings.Contains(msg, "goroutine ") || strings.Contains(msg, ".tmp-") {
					t.Errorf("error exposes internals: %q", msg)
				}
			}
			if tc.gone != "" {
				if _, err := os.Stat(tc.gone); err == nil {
					t.Errorf("%s exists after a failed run", tc.gone)
					os.RemoveAll(tc.gone)
				}
			}
			filepath.WalkDir(e.dir, func(p string, d fs.DirEntry, err error) error {
				if err == nil && strings.Contains(d.Name(), ".tmp") {
					t.Errorf("temporary file left behind: %s", p)
					os.RemoveAll(p)
				}
				return nil
			})
			if b, err := os.ReadFile(e.p("exists.gguf")); err != nil || string(b) != "keep me" {
				t.Fatalf("exists.gguf was overwritten")
			}
			if _, err := os.Stat(e.p("ckpt/config.json")); err != nil {
				t.Fatalf("the checkpoint folder was damaged")
			}
			if st, err := os.Stat(m); err != nil || st.Size() < 1<<20 {
				t.Fatalf("the input model was damaged")
			}
		})
	}
}

// TestVerifyBadSumsLineCLI: one malformed SHA256SUMS line in a release is
// one problem naming the line, not a cascade of "missing" files.
func TestVerifyBadSumsLineCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes a release")
	}
	dir := t.TempDir()
	model := filepath.Join(dir, "m.gguf")
	if _, errOut, code := runCLI(t, "synth", "--preset", "tiny-gpt-oss", "-o", model); code != exitOK {
		t.Fatalf("synth: exit %d: %s", code, errOut)
	}
	rel := filepath.Join(dir, "rel")
	if _, errOut, code := runCLI(t, "publish", model, "-o", rel); code != exitOK {
		t.Fatalf("publish: exit %d: %s", code, errOut)
	}
	sums := filepath.Join(rel, "SHA256SUMS")
	b, err := os.ReadFile(sums)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sums, append([]byte("0123 m.gguf\n"), b...), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "verify", rel)
	if code != exitError {
		t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, exitError, out, errOut)
	}
	if !strings.Contains(out, `SHA256SUMS: line 1: expected '<sha256>  <file>', got "0123 m.gguf"`) || !strings.Contains(errOut, "1 problem(s)") {
		t.Errorf("want the one bad line reported; stdout:\n%s\nstderr:\n%s", out, errOut)
	}
}
