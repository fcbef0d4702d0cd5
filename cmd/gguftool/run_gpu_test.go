package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/planner"
	"github.com/gguftool/gguftool/runtime/gpu"
)

// budgets are three --vram budgets for model under the gguftool runtime:
// the smallest feasible one (every expert in CPU memory), that plus room
// for two 2 MiB-rounded expert tensors (some experts on the GPU), and one
// that holds the whole model.
func budgets(t *testing.T, model string) (minimal, hybrid, all int64) {
	t.Helper()
	return budgetsAt(t, model, planner.DefaultUBatch)
}

// budgetsAt is budgets for runs in passes of ub tokens (the scratch the
// plans count scales with it).
func budgetsAt(t *testing.T, model string, ub int) (minimal, hybrid, all int64) {
	t.Helper()
	f, err := gguf.Open(model)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = planner.Plan(planner.FromFile(f), planner.Options{VRAM: 1 << 20, UBatch: ub, Reserve: -1, Runtime: planner.RuntimeGguftool})
	var inf *planner.InfeasibleError
	if !errors.As(err, &inf) {
		t.Fatalf("plan at 1 MiB: %v", err)
	}
	return inf.Min, inf.Min + 4<<20, inf.Min + 2*f.Size() + 256<<20
}

// hybridBudget is budgets' hybrid one.
func hybridBudget(t *testing.T, model string) int64 {
	_, h, _ := budgets(t, model)
	return h
}

// TestRunGPUPlanFixtures runs every fixture through `gguftool run --vram`
// on the fake driver (the kernels' CPU twins) under three plans: every
// expert in CPU memory, some experts on the GPU and the rest in CPU memory,
// and the whole model on the GPU. The greedy tokens are transformers'
// reference continuation, --validate agrees with the CPU runtime at every
// position, the --json stats are filled in, every architecture runs on the
// GPU executor, and the plans' expert placement shows in the
// uploaded weights.
func TestRunGPUPlanFixtures(t *testing.T) {
	t.Setenv(gpu.FakeEnv, "16GiB")
	for _, fam := range []string{"gpt-oss", "phimoe", "deepseek-moe", "deepseek-v2-lite"} {
		t.Run(fam, func(t *testing.T) {
			dir := t.TempDir()
			model := filepath.Join(dir, "model.gguf")
			if _, stderr, code := runCLI(t, "convert", filepath.Join(fixturesDir, fam), "-o", model, "--outtype", "f32"); code != exitOK {
				t.Fatalf("convert: exit %d: %s", code, stderr)
			}
			var ref runFixtureRef
			b, _ := os.ReadFile(filepath.Join(fixturesDir, fam, "reference.json"))
			if err := json.Unmarshal(b, &ref); err != nil {
				t.Fatal(err)
			}
			n := len(ref.GreedyContinuation)
			minimal, hybrid, all := budgetsAt(t, model, 5)
			var weights []uint64
			for _, vram := range []int64{minimal, hybrid, all} {
				stdout, stderr, code := runCLI(t, "run", model, "--vram", fmt.Sprint(vram), "--tokens", idList(ref.PromptIDs),
					"-n", strconv.Itoa(n), "--validate", "--reps", "2", "--ubatch", "5", "--json")
				if code != exitOK {
					t.Fatalf("run --vram %d: exit %d: %s", vram, code, stderr)
				}
				var res gpuRunResult
				if err := json.Unmarshal([]byte(stdout), &res); err != nil {
					t.Fatalf("run --json: %v\n%s", err, stdout)
				}
				if got, want := fmt.Sprint(res.GeneratedIDs), fmt.Sprint(ref.GreedyContinuation[:len(res.GeneratedIDs)]); got != want || len(res.GeneratedIDs) == 0 {
					t.Errorf("--vram %d: greedy tokens %s, transformers %s", vram, got, want)
				}
				v := res.Validation
				if v == nil || !v.GreedyTokensMatch || v.PromptTop1Agree != len(ref.PromptIDs) || v.DecodeTop1Agree != v.DecodeSteps || v.MaxAbsLogitDiff > 5e-3*math.Max(1, v.MaxAbsLogit) {
					t.Errorf("--vram %d: validation %+v", vram, v)
				}
				if res.VRAMPlannedBytes <= 0 || res.VRAMUsedBytes == 0 || res.VRAMUsedBytes > uint64(res.VRAMBudgetBytes) || res.Reps != 2 ||
					res.DecodeTokensPerS.N != 2 || res.PrefillTokensPerS.N != 2 || res.TTFT.N != 2 || res.HostRSSBytes <= 0 || res.UBatch != 5 {
					t.Errorf("--vram %d: stats: %+v", vram, res)
				}
				if !strings.Contains(stderr, "loaded on Fake GPU") {
					t.Errorf("stderr: %s", stderr)
				}
				if !strings.Contains(res.Engine, "GPU executor") {
					t.Errorf("--vram %d: engine %q", vram, res.Engine)
				}
				weights = append(weights, res.VRAMWeightBytes)
				t.Logf("--vram %d: weights on the GPU %d B, max |Δlogit| %.3g, greedy %v", vram, res.VRAMWeightBytes, v.MaxAbsLogitDiff, res.GeneratedIDs)
			}
			if !(weights[0] < weights[1] && weights[1] < weights[2]) {
				t.Errorf("GPU weights under the minimal, hybrid and whole-model plans: %v, want increasing", weights)
			}
		})
	}
}

// TestRunGPUPlanWithoutGPU: a GPU plan on a machine without a driver fails
// with the reason and exit 1, or runs on the CPU runtime with
// --cpu-fallback (CI has no GPU; skipped where one is present).
func TestRunGPUPlanWithoutGPU(t *testing.T) {
	if _, err := cuda.Open(); err == nil {
		t.Skip("a GPU driver is present")
	}
	os.Unsetenv(gpu.FakeEnv)
	dir := t.TempDir()
	model := filepath.Join(dir, "model.gguf")
	if _, stderr, code := runCLI(t, "convert", filepath.Join(fixturesDir, "gpt-oss"), "-o", model, "--outtype", "f16"); code != exitOK {
		t.Fatalf("convert: exit %d: %s", code, stderr)
	}
	_, stderr, code := runCLI(t, "run", model, "--vram", "1GiB", "--tokens", "1,2,3", "-n", "2")
	if code != exitError || !strings.Contains(stderr, "no usable GPU") || !strings.Contains(stderr, "--cpu-fallback") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	stdout, stderr, code := runCLI(t, "run", model, "--vram", "1GiB", "--tokens", "1,2,3", "-n", "2", "--temp", "0", "--json", "--cpu-fallback")
	var res runResult
	if code != exitOK || json.Unmarshal([]byte(stdout), &res) != nil || res.GeneratedTokens != 2 || !strings.Contains(stderr, "CPU runtime") {
		t.Errorf("--cpu-fallback: exit %d: %s\n%s", code, stderr, stdout)
	}
	if _, stderr, code := runCLI(t, "run", model, "--tokens", "1,2", "--validate"); code != exitUsage {
		t.Errorf("--validate without a plan: exit %d: %s", code, stderr)
	}
}

// TestBenchGPUPlan runs bench --vram on the fake driver.
func TestBenchGPUPlan(t *testing.T) {
	t.Setenv(gpu.FakeEnv, "16GiB")
	for _, fam := range []string{"gpt-oss", "deepseek-moe", "deepseek-v2-lite", "phimoe"} {
		t.Run(fam, func(t *testing.T) { benchGPUPlan(t, fam) })
	}
}

func benchGPUPlan(t *testing.T, fam string) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model.gguf")
	if _, stderr, code := runCLI(t, "convert", filepath.Join(fixturesDir, fam), "-o", model, "--outtype", "q8_0"); code != exitOK {
		t.Fatalf("convert: exit %d: %s", code, stderr)
	}
	stdout, stderr, code := runCLI(t, "bench", model, "--vram", fmt.Sprint(hybridBudget(t, model)), "-p", "16", "-n", "4", "-r", "2", "--json")
	if code != exitOK {
		t.Fatalf("bench: exit %d: %s", code, stderr)
	}
	var res gpuBenchResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 2 || res.Results[0].Test != "pp16" || res.Results[1].Test != "tg4" || res.Results[0].TokensPerS <= 0 ||
		res.VRAMPlannedBytes <= 0 || res.VRAMUsedBytes == 0 || res.Machine.GPU == nil || !strings.Contains(res.Engine, "GPU executor") {
		t.Errorf("%+v", res)
	}
}
