package gpu

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/runtime"
)

// TestGPTOSSExecutor runs the gpt-oss fixture through the GPU executor —
// experts streamed from host memory (with a staging area smaller than the
// expert count, so prefill takes several token chunks) and experts on the
// GPU — and compares logits of every prompt position and 8 greedy tokens
// with the CPU runtime.
func TestGPTOSSExecutor(t *testing.T) {
	for _, ot := range []string{"f32", "q8_0"} {
		f := convertFixture(t, "gpt-oss", ot)
		cpu, err := runtime.Load(f, runtime.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := evalGreedy(t, cpu, 8)
		for mi, o := range []GPTOSSOptions{{StagingExperts: 4}, {}, {ExpertsOnGPU: true}, {StagingExperts: 4, GroupAbove: 1}, {GroupAbove: 1}, {ExpertsOnGPU: true, GroupAbove: 1},
			// A manifest's mix: layer 1's experts resident, layer 0's up
			// matrix resident (copied device to device), the rest streamed.
			{StagingExperts: 4, ExpertTensorOnGPU: lastLayerAndUp0}, {GroupAbove: 1, ExpertTensorOnGPU: lastLayerAndUp0}} {
			b := newTestBackend(t)
			g, err := NewGPTOSS(cpu, b, o)
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
			t.Log(compareRuns(t, fmt.Sprintf("gpt-oss %s executor mode %d", ot, mi), got, want, cpu.NVocab, 1e-4))
			s.Close()
			g.Close()
		}
	}
}

// lastLayerAndUp0 puts layer 1's expert tensors and layer 0's up
// projection on the GPU.
func lastLayerAndUp0(name string) bool {
	return strings.HasPrefix(name, "blk.1.") || name == "blk.0.ffn_up_exps.weight"
}
