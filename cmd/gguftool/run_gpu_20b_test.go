package main

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/runtime/gpu"
)

// TestRunGPUValidateGptOss20bShapes runs gpt-oss-20b's real layer shapes —
// 2880 wide, 64 query heads and 8 KV heads of 64, 32 experts of 2880 with 4
// active, MXFP4 experts, F16 or Q8_0 attention — through `gguftool run
// --validate` on the fake driver, every expert in CPU memory. The fixtures
// are 256 wide with 12-token prompts; this is the shape the H100 runs. A
// one-layer synth with a 4096-token vocabulary keeps it to seconds. The
// 20-token prompt in 16-token passes takes the tensor-core GEMM path (batches
// of DefaultGemmMinTokens or more) and the grouped, expert-chunked
// streaming of host-memory experts, then a 4-token pass that does not;
// experts run once streamed to the GPU, once on the CPU cores. The fake
// driver computes in float32 and synth's values are well-conditioned, so
// the executor must agree with the CPU runtime at every position to 1e-3
// of the largest logit (measured: 3e-5 F16, 5e-5 Q8_0, of 4.6).
func TestRunGPUValidateGptOss20bShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("writes two 0.5 GB models")
	}
	t.Setenv(gpu.FakeEnv, "16GiB")
	prompt := "1,17,230,5,99,64,12,7,301,45,2,88,1000,4000,77,9,33,600,1200,3000"
	const ub = 16
	dir := t.TempDir()
	for _, typ := range []string{"f16", "q8_0"} {
		model := filepath.Join(dir, "gpt-oss-20b-1l-"+typ+".gguf")
		if _, stderr, code := runCLI(t, "synth", "--preset", "gpt-oss-20b", "--layers", "1", "--vocab", "4096",
			"--type", typ, "-o", model); code != exitOK {
			t.Fatalf("synth %s: exit %d: %s", typ, code, stderr)
		}
		minimal, _, _ := budgetsAt(t, model, ub)
		for _, on := range []string{"gpu", "cpu"} {
			name := typ + "/experts-on-" + on
			stdout, stderr, code := runCLI(t, "run", model, "--vram", fmt.Sprint(minimal), "--ctx", "64",
				"--ubatch", fmt.Sprint(ub), "--tokens", prompt, "-n", "2", "--experts-on", on, "--validate", "--json")
			if code != exitOK {
				t.Fatalf("%s: exit %d: %s", name, code, stderr)
			}
			var res gpuRunResult
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("%s: run --json: %v\n%s", name, err, stdout)
			}
			if !strings.Contains(res.Engine, "GPU executor") || res.UBatch != ub {
				t.Errorf("%s: engine %q, ubatch %d", name, res.Engine, res.UBatch)
			}
			v := res.Validation
			if v == nil || v.PromptPositions != 20 || v.PromptTop1Agree != 20 || v.DecodeSteps != 1 || v.DecodeTop1Agree != 1 ||
				!v.GreedyTokensMatch || v.MaxAbsLogit < 1 || v.MaxAbsLogitDiff > 1e-3*v.MaxAbsLogit {
				t.Errorf("%s: validation %+v", name, v)
				continue
			}
			x := res.Experts
			switch {
			case x == nil:
				t.Errorf("%s: no expert stats: the plan kept no experts in CPU memory", name)
			case on == "gpu" && (x.StreamedExperts == 0 || x.CPUExpertProducts != 0):
				t.Errorf("%s: experts streamed %d, computed on the CPU %d", name, x.StreamedExperts, x.CPUExpertProducts)
			case on == "cpu" && (x.CPUExpertProducts == 0 || x.StreamedExperts != 0):
				t.Errorf("%s: experts streamed %d, computed on the CPU %d", name, x.StreamedExperts, x.CPUExpertProducts)
			}
			t.Logf("%s: top-1 %d/%d + %d/%d, max |Δlogit| %.3g of %.3g", name, v.PromptTop1Agree, v.PromptPositions,
				v.DecodeTop1Agree, v.DecodeSteps, v.MaxAbsLogitDiff, math.Max(v.MaxAbsLogit, 0))
		}
	}
}
