package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

const fixturesDir = "../../testdata/fixtures"

func TestConvertCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "deepseek.gguf")
	model := filepath.Join(fixturesDir, "deepseek-moe")
	stdout, stderr, code := runCLI(t, "convert", model, "-o", out, "--outtype", "q8_0")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "deepseek (Q8_0)") {
		t.Errorf("stdout %q", stdout)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if ft, _ := f.Metadata.Uint32("general.file_type"); ft != 7 {
		t.Errorf("file_type %d", ft)
	}
	f.Close()

	// An existing output is refused without --force, kept, and replaced with it.
	before, _ := os.ReadFile(out)
	_, stderr, code = runCLI(t, "convert", model, "-o", out, "--outtype", "f16")
	if code != exitError || !strings.Contains(stderr, "already exists") {
		t.Fatalf("existing output: exit %d, %q", code, stderr)
	}
	if after, _ := os.ReadFile(out); string(after) != string(before) {
		t.Fatal("existing output was modified")
	}
	if _, stderr, code = runCLI(t, "convert", model, "-o", out, "--outtype", "f16", "--force"); code != exitOK {
		t.Fatalf("--force: exit %d: %s", code, stderr)
	}

	// Usage errors.
	for _, args := range [][]string{
		{"convert", model},
		{"convert", model, "-o", out, "--outtype", "q4_0"},
		{"convert"},
	} {
		if _, _, code := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestConvertDryRun(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, code := runCLI(t, "convert", filepath.Join(fixturesDir, "gpt-oss"), "--dry-run", "--outtype", "q8_0")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"model.layers.0.mlp.experts.gate_up_proj_blocks U8 [8 512 8 16] + model.layers.0.mlp.experts.gate_up_proj_scales",
		"→ blk.0.ffn_up_exps.weight", "MXFP4", "→ token_embd.weight", "Q8_0", "[256 1024]",
		"(GptOssForCausalLM) → gpt-oss: 60 tensors",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run output lacks %q", want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("dry run wrote %v", ents)
	}
}

// TestConvertNoPartialOutput: a failed conversion leaves neither the
// output nor a temporary file.
func TestConvertNoPartialOutput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.gguf")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := runConvert(ctx, os.Stdout, filepath.Join(fixturesDir, "phimoe"), &convertOptions{out: out, outType: "bf16"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left behind %v", ents)
	}
	// An unknown architecture names the supported ones.
	_, stderr, code := runCLI(t, "convert", filepath.Join(fixturesDir, "quant"), "-o", out)
	if code != exitError || ents(dir) != 0 {
		t.Fatalf("exit %d, files %d: %s", code, ents(dir), stderr)
	}
}

func ents(dir string) int {
	es, _ := os.ReadDir(dir)
	return len(es)
}
