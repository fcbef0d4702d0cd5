package gpu

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/runtime"
)

// executorModes are the placements and batch strategies every executor is
// checked under: experts streamed from host memory (with a staging area
// smaller than the expert count, so prefill takes several token chunks),
// experts on the GPU, each of them with the grouped products forced, and a
// manifest's mix (the last layer's experts resident, the first MoE layer's
// up matrix resident and copied device to device, the rest streamed).
func executorModes(mixed func(string) bool) []Options {
	return []Options{{StagingExperts: 4}, {}, {ExpertsOnGPU: true}, {StagingExperts: 4, GroupAbove: 1}, {GroupAbove: 1}, {ExpertsOnGPU: true, GroupAbove: 1},
		{StagingExperts: 4, ExpertTensorOnGPU: mixed}, {GroupAbove: 1, ExpertTensorOnGPU: mixed}}
}

// mixedPlacement puts layer last's expert tensors and layer firstMoE's up
// projection on the GPU.
func mixedPlacement(firstMoE, last int) func(string) bool {
	return func(name string) bool {
		return strings.HasPrefix(name, fmt.Sprintf("blk.%d.", last)) || name == fmt.Sprintf("blk.%d.ffn_up_exps.weight", firstMoE)
	}
}

// checkExecutor runs fixture family (converted to each outtype) through the
// GPU executor under every mode and compares the logits of every prompt
// position and 8 greedy tokens with the CPU runtime.
func checkExecutor(t *testing.T, family string, mixed func(string) bool) {
	for _, ot := range []string{"f32", "q8_0"} {
		checkExecutorFile(t, convertFixture(t, family, ot), family+" "+ot, mixed)
	}
}

// checkExecutorFile is checkExecutor on one model file.
func checkExecutorFile(t *testing.T, f *gguf.File, name string, mixed func(string) bool) {
	{
		cpu, err := runtime.Load(f, runtime.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := evalGreedy(t, cpu, 8)
		for mi, o := range executorModes(mixed) {
			b := newTestBackend(t)
			g, err := NewExecutor(cpu, b, o)
			if err != nil {
				t.Fatal(err)
			}
			s, err := g.NewSession(len(promptIDs) + 9)
			if err != nil {
				t.Fatal(err)
			}
			logits, err := s.Eval(promptIDs, true)
			if err != nil {
				t.Fatal(err)
			}
			got := runResult{logits: logits}
			last := logits[len(logits)-cpu.NVocab:]
			for i := 0; i < 8; i++ {
				tok := int32(argmax(last))
				got.greedy = append(got.greedy, tok)
				if last, err = s.Eval([]int32{tok}, false); err != nil {
					t.Fatal(err)
				}
			}
			t.Log(compareRuns(t, fmt.Sprintf("%s executor mode %d", name, mi), got, want, cpu.NVocab, kvF16Tol))
			s.Close()
			g.Close()
		}
	}
}

// TestGPTOSSExecutor: gpt-oss (biased experts, clamped SwiGLU, sinks,
// sliding window, YaRN).
func TestGPTOSSExecutor(t *testing.T) { checkExecutor(t, "gpt-oss", mixedPlacement(0, 1)) }

// TestDeepSeekExecutor: DeepSeek-MoE v1 (a dense first layer, shared
// experts, softmax-then-top-k routing, adjacent-pair rope).
func TestDeepSeekExecutor(t *testing.T) { checkExecutor(t, "deepseek-moe", mixedPlacement(1, 2)) }

// TestDeepSeek2Executor: DeepSeek-V2-Lite (multi-head latent attention,
// absorbed, with a latent GPU cache; YaRN; a dense first layer, shared
// experts).
func TestDeepSeek2Executor(t *testing.T) { checkExecutor(t, "deepseek-v2-lite", mixedPlacement(1, 2)) }

// TestPhiMoEExecutor: Phi-3.5-MoE (LayerNorm with bias, biased attention
// and head, LongRoPE short factors, sparsemixer routing).
func TestPhiMoEExecutor(t *testing.T) { checkExecutor(t, "phimoe", mixedPlacement(0, 2)) }
