package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/planner"
)

// TestSynthThenPlan is the README's first command pair end to end: synth a
// tiny model, plan it, read the manifest back and check it against the file.
func TestSynthThenPlan(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "tiny.gguf")
	if _, errOut, code := runCLI(t, "synth", "--preset", "tiny-gpt-oss", "-o", model); code != exitOK {
		t.Fatalf("synth: exit %d: %s", code, errOut)
	}
	if _, _, code := runCLI(t, "synth", "--preset", "tiny-gpt-oss", "-o", model); code != exitError {
		t.Errorf("synth over an existing file without --force: exit %d, want %d", code, exitError)
	}
	if _, errOut, code := runCLI(t, "synth", "--preset", "tiny-gpt-oss", "-o", model, "--force"); code != exitOK {
		t.Fatalf("synth --force: exit %d: %s", code, errOut)
	}
	manPath := filepath.Join(dir, "plan.json")
	out, errOut, code := runCLI(t, "plan", model, "--vram", "800MiB", "--reserve", "768MiB", "-o", manPath)
	if code != exitOK {
		t.Fatalf("plan: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"CUDA0 (GPU)", "token_embd", "llama.cpp: llama-server -m", "manifest written to"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	man, err := planner.Load(manPath)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(model)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := man.CheckModel(planner.FromFile(f)); err != nil {
		t.Error(err)
	}
	jsonOut, _, code := runCLI(t, "plan", model, "--vram", "2GiB", "--json", "--per-expert")
	var x map[string]any
	if code != exitOK || json.Unmarshal([]byte(jsonOut), &x) != nil || x["schema"] != "gguftool.plan/v1" {
		t.Errorf("--json: exit %d, output %.200s", code, jsonOut)
	}
}

func TestPlanExitCodes(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "tiny.gguf")
	if _, errOut, code := runCLI(t, "synth", "--preset", "tiny-deepseek-moe", "-o", model); code != exitOK {
		t.Fatalf("synth: %s", errOut)
	}
	prof := filepath.Join(dir, "prof.json")
	os.WriteFile(prof, []byte(`{"schema":"gguftool.profile/v1","layers":[{"layer":1,"counts":[9,1,1,1,1,1,1,1]}]}`), 0o644)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"plan", model, "--vram", "100MiB"}, exitInfeasible, "needs at least"},
		{[]string{"plan", "--preset", "gpt-oss-20b", "--vram", "2GiB"}, exitInfeasible, "needs at least 3.56 GiB"},
		{[]string{"plan", "--preset", "gpt-oss-20b", "--vram", "4GiB"}, exitOK, "--n-cpu-moe 23"},
		{[]string{"plan", "--preset", "nope", "--vram", "4GiB"}, exitUsage, "unknown preset"},
		{[]string{"plan", model, "--preset", "gpt-oss-20b", "--vram", "4GiB"}, exitUsage, "accepts 0 arg"},
		{[]string{"plan", model, "--type", "q8_0", "--vram", "4GiB"}, exitUsage, "--type goes with --preset"},
		{[]string{"plan", model, "--vram", "100MiB", "--json"}, exitInfeasible, `"min_vram_bytes"`},
		{[]string{"plan", model, "--vram", "1GiB", "--ctx", "8192"}, exitOK, "exceeds the model's training context 4096"},
		{[]string{"plan", model, "--vram", "-1"}, exitUsage, "non-negative"},
		{[]string{"plan", model, "--vram", "2XB"}, exitUsage, "unknown unit"},
		{[]string{"plan", model}, exitUsage, "--vram"},
		{[]string{"plan", model, "--vram", "1GiB", "--cache-type", "q4_0"}, exitUsage, "cache-type"},
		{[]string{"plan", model, "--vram", "1GiB", "--ctx", "0"}, exitUsage, "--ctx"},
		{[]string{"plan", model, "--vram", "1GiB", "--profile", prof}, exitUsage, "--per-expert"},
		{[]string{"plan", filepath.Join(dir, "missing.gguf"), "--vram", "1GiB"}, exitError, "missing.gguf"},
		{[]string{"plan", model, "--vram", "1GiB", "--per-expert", "--profile", prof}, exitOK, "ranked by"},
		{[]string{"plan", model, "--vram", "1GiB", "--cache-type", "q8_0", "--ubatch", "256"}, exitOK, "-ctk q8_0"},
	}
	for _, c := range cases {
		out, errOut, code := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Errorf("%v: exit %d (want %d), output %q lacks %q", c.args, code, c.code, out+errOut, c.want)
		}
	}
}
