package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gguftool/gguftool/runtime/gpu"
)

// TestExpertsOnFlag runs bench and run on the fake driver with every
// --experts-on mode under the plan that keeps every expert in CPU memory:
// the per-test expert statistics show where the experts ran, run
// --validate agrees with the CPU runtime, and a bad mode is a usage error.
func TestExpertsOnFlag(t *testing.T) {
	t.Setenv(gpu.FakeEnv, "16GiB")
	model := filepath.Join(t.TempDir(), "model.gguf")
	if _, stderr, code := runCLI(t, "convert", filepath.Join(fixturesDir, "gpt-oss"), "-o", model, "--outtype", "q8_0"); code != exitOK {
		t.Fatalf("convert: exit %d: %s", code, stderr)
	}
	minimal, _, _ := budgets(t, model)
	vram := fmt.Sprint(minimal)
	for _, mode := range []string{"cpu", "gpu", "auto"} {
		stdout, stderr, code := runCLI(t, "bench", model, "--vram", vram, "-p", "16", "-n", "4", "-r", "1", "--json", "--experts-on", mode)
		if code != exitOK {
			t.Fatalf("bench --experts-on %s: exit %d: %s", mode, code, stderr)
		}
		var res gpuBenchResult
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatal(err)
		}
		tg, pp := res.Experts["tg4"], res.Experts["pp16"]
		if tg.Mode != mode || tg.LayerBatches == 0 || pp.LayerBatches == 0 || len(tg.Costs) != 1 {
			t.Fatalf("--experts-on %s: stats %+v / %+v", mode, tg, pp)
		}
		switch mode {
		case "cpu":
			if tg.CPUExpertProducts == 0 || tg.StreamedExperts != 0 || pp.StreamedExperts != 0 {
				t.Errorf("cpu: %+v", tg)
			}
		case "gpu":
			if tg.CPUExpertProducts != 0 || tg.StreamedExperts == 0 || pp.CPUExpertProducts != 0 {
				t.Errorf("gpu: %+v", tg)
			}
		}
	}
	stdout, stderr, code := runCLI(t, "run", model, "--vram", vram, "--tokens", "1,17,230,5", "-n", "4", "--validate", "--json", "--experts-on", "cpu")
	if code != exitOK {
		t.Fatalf("run --experts-on cpu --validate: exit %d: %s", code, stderr)
	}
	var res gpuRunResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.Validation == nil || !res.Validation.GreedyTokensMatch || res.Experts == nil || res.Experts.CPUExpertProducts == 0 || res.Experts.StreamedExperts != 0 {
		t.Errorf("run --experts-on cpu: validation %+v, experts %+v", res.Validation, res.Experts)
	}
	stdout, stderr, code = runCLI(t, "bench", model, "--vram", vram, "-p", "8", "-n", "4", "-r", "1", "--json", "--cpu-experts", "1")
	if code != exitOK {
		t.Fatalf("bench --cpu-experts 1: exit %d: %s", code, stderr)
	}
	var b gpuBenchResult
	if err := json.Unmarshal([]byte(stdout), &b); err != nil {
		t.Fatal(err)
	}
	if tg := b.Experts["tg4"]; tg.FixedCPUExperts != 1 || tg.Mixed != tg.LayerBatches || tg.CPUExpertProducts != tg.LayerBatches {
		t.Errorf("--cpu-experts 1: %+v", tg)
	}
	for _, bad := range [][]string{{"--experts-on", "tpu"}, {"--cpu-experts", "-1"}, {"--experts-on", "gpu", "--cpu-experts", "2"}} {
		if _, _, code := runCLI(t, append([]string{"bench", model, "--vram", vram, "-p", "4", "-n", "2"}, bad...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", bad, code, exitUsage)
		}
	}
}
