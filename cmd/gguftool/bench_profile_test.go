package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/runtime/gpu"
)

// bench --profile counts every launch of the extra passes per kernel (the
// fake driver's clock stands still, so only the counts are checked here).
func TestBenchGPUProfile(t *testing.T) {
	t.Setenv(gpu.FakeEnv, "16GiB")
	dir := t.TempDir()
	model := filepath.Join(dir, "model.gguf")
	if _, stderr, code := runCLI(t, "convert", filepath.Join(fixturesDir, "gpt-oss"), "-o", model, "--outtype", "q8_0"); code != exitOK {
		t.Fatalf("convert: exit %d: %s", code, stderr)
	}
	stdout, stderr, code := runCLI(t, "bench", model, "--vram", fmt.Sprint(hybridBudget(t, model)), "-p", "16", "-n", "3", "-r", "1", "--profile", "--json")
	if code != exitOK {
		t.Fatalf("bench: exit %d: %s", code, stderr)
	}
	f, err := gguf.Open(model)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := f.Metadata.Uint32("gpt-oss.block_count")
	if err != nil {
		t.Fatal(err)
	}
	layers := int(bc)
	f.Close()
	var res gpuBenchResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Profile) != 2 || res.Profile[0].Test != "pp16" || res.Profile[1].Test != "tg3" {
		t.Fatalf("profile passes: %+v", res.Profile)
	}
	for _, p := range res.Profile {
		launches := map[string]int{}
		for _, e := range p.GPU.Entries {
			launches[e.Name] = e.Count
		}
		// One router launch per layer and Eval call.
		if launches["rms_norm_f32"] == 0 || launches["router_f32"] == 0 {
			t.Errorf("%s: launches %v", p.Test, launches)
		}
		if p.Test == "tg3" && launches["router_f32"] != 3*layers {
			t.Errorf("tg3: %d router launches, want 3 steps × %d layers", launches["router_f32"], layers)
		}
	}
	if _, _, code := runCLI(t, "bench", model, "--vram", fmt.Sprint(hybridBudget(t, model)), "-p", "8", "-n", "2", "-r", "1", "--profile"); code != exitOK {
		t.Fatalf("bench --profile (table): exit %d", code)
	}
}
