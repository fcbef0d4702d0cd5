package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPublishCommand converts two fixtures, benchmarks one, publishes both
// split into shards with the real bench result, verifies the folder, then
// tampers with it.
func TestPublishCommand(t *testing.T) {
	tmp := t.TempDir()
	var models []string
	for _, outtype := range []string{"q8_0", "bf16"} {
		m := filepath.Join(tmp, "gpt-oss-"+outtype+".gguf")
		if _, stderr, code := runCLI(t, "convert", filepath.Join(fixturesDir, "gpt-oss"), "-o", m, "--outtype", outtype); code != exitOK {
			t.Fatalf("convert %s: exit %d: %s", outtype, code, stderr)
		}
		models = append(models, m)
	}
	benchOut, stderr, code := runCLI(t, "bench", models[0], "-p", "8", "-n", "4", "-r", "2", "--json")
	if code != exitOK {
		t.Fatalf("bench: exit %d: %s", code, stderr)
	}
	bench := filepath.Join(tmp, "bench.json")
	os.WriteFile(bench, []byte(benchOut), 0o644)

	out := filepath.Join(tmp, "release")
	args := append([]string{"publish"}, models...)
	args = append(args, "-o", out, "--split-max-size", "1.5MB", "--source", filepath.Join(fixturesDir, "gpt-oss"),
		"--base-model", "openai/gpt-oss-20b", "--repo", "gguftool/tiny-moe-GGUF", "--bench", bench)
	stdout, stderr, code := runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("publish: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "hf upload gguftool/tiny-moe-GGUF "+out+" .\n") {
		t.Errorf("no upload command in:\n%s", stdout)
	}
	shards, _ := filepath.Glob(filepath.Join(out, "*-of-*.gguf"))
	if len(shards) < 4 {
		t.Errorf("%d shards at 1.5 MB", len(shards))
	}
	card, _ := os.ReadFile(filepath.Join(out, "README.md"))
	for _, want := range []string{"## Benchmark", "| pp8 |", "| tg4 |", "memory_read_gb_per_s", "base_model:\n- openai/gpt-oss-20b\n", "## Memory", "--n-cpu-moe"} {
		if !strings.Contains(string(card), want) {
			t.Errorf("card lacks %q", want)
		}
	}
	if stdout, stderr, code := runCLI(t, "verify", out); code != exitOK || !strings.Contains(stdout, "OK") {
		t.Fatalf("verify: exit %d: %s %s", code, stdout, stderr)
	}

	// Refusals: a non-empty folder without --force, a split below the largest
	// tensor, a size that does not parse.
	if _, stderr, code := runCLI(t, append(args[:len(args):len(args)], "--bench", bench)...); code != exitError || !strings.Contains(stderr, "--force") {
		t.Errorf("non-empty output: exit %d: %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "publish", models[0], "-o", filepath.Join(tmp, "r2"), "--split-max-size", "100kB"); code != exitError || !strings.Contains(stderr, "does not fit") {
		t.Errorf("tiny split: exit %d: %s", code, stderr)
	}
	if _, _, code := runCLI(t, "publish", models[0], "-o", filepath.Join(tmp, "r3"), "--split-max-size", "2XB"); code != exitUsage {
		t.Errorf("bad size: exit %d", code)
	}
	if _, _, code := runCLI(t, "publish", models[0]); code != exitUsage {
		t.Errorf("no -o: exit %d", code)
	}
	for _, p := range []string{"r2", "r3"} {
		if _, err := os.Stat(filepath.Join(tmp, p)); err == nil {
			t.Errorf("%s created by a refused publish", p)
		}
	}

	// A changed byte: exit 1 and a line naming the file.
	b, _ := os.ReadFile(shards[0])
	b[len(b)-1] ^= 0x40
	os.WriteFile(shards[0], b, 0o644)
	stdout, _, code = runCLI(t, "verify", out)
	if code != exitError || !strings.Contains(stdout, filepath.Base(shards[0])+": sha256 is") {
		t.Errorf("tampered: exit %d:\n%s", code, stdout)
	}

	// llama.cpp loads the splits and computes what it computes for the whole
	// files. Needs node and node-llama-cpp 3.22.1: set GGUFTOOL_NODE_LLAMA_CPP
	// to the folder where it is installed (CI has neither).
	nlc := os.Getenv("GGUFTOOL_NODE_LLAMA_CPP")
	if nlc == "" {
		t.Log("GGUFTOOL_NODE_LLAMA_CPP not set: llama.cpp split load not checked")
		return
	}
	os.WriteFile(shards[0], append(b[:len(b)-1:len(b)-1], b[len(b)-1]^0x40), 0o644)
	script, _ := filepath.Abs("../../publish/testdata/llamacpp-splitload.mjs")
	local := filepath.Join(nlc, "publish-splitload.mjs") // node resolves packages from the script's folder
	src, _ := os.ReadFile(script)
	if err := os.WriteFile(local, src, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(local)
	cmd := exec.Command("node", local,
		models[0], firstShard(t, out, "gpt-oss-q8_0"),
		models[1], firstShard(t, out, "gpt-oss-bf16"))
	res, err := cmd.CombinedOutput()
	t.Logf("llama.cpp:\n%s", res)
	if err != nil || strings.Count(string(res), "SAME") != 2 {
		t.Errorf("llama.cpp does not read the splits as the whole models: %v", err)
	}
}

func firstShard(t *testing.T, dir, prefix string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, prefix+"-00001-of-*.gguf"))
	if len(m) != 1 {
		t.Fatalf("first shard of %s: %v", prefix, m)
	}
	return m[0]
}

// TestInterruptContext: while publish runs, SIGINT cancels its context (so
// Publish removes its temporary folder) instead of killing the process.
func TestInterruptContext(t *testing.T) {
	ctx, stop := interruptContext(context.Background())
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGINT did not cancel the context")
	}
}
