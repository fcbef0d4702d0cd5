package gpu

import (
	"testing"

	"github.com/gguftool/gguftool/runtime"
)

// TestGroupedExpertLaunch checks the one-launch grouped products of a
// prompt batch (ops.MatMulGrouped, taken when a group reaches the
// tensor-core batch size) against the per-group products: the groups'
// triples, row offsets, strides and per-expert biases, for experts
// resident on the GPU and streamed into the staging area (two parts).
func TestGroupedExpertLaunch(t *testing.T) {
	for _, fam := range []string{"gpt-oss", "deepseek-moe"} {
		t.Run(fam, func(t *testing.T) {
			cpu, err := runtime.Load(convertFixture(t, fam, "f32"), runtime.Options{})
			if err != nil {
				t.Fatal(err)
			}
			prompt := make([]int32, 64)
			for i := range prompt {
				prompt[i] = int32((i*37 + 5) % cpu.NVocab)
			}
			for _, o := range []Options{{ExpertsOnGPU: true}, {ExpertsOn: ExpertsGPU}, {ExpertsOn: ExpertsGPU, StagingExperts: 4}} {
				run := func(gemmMin int) ([]float32, int) {
					b := newTestBackend(t)
					b.k.GemmMinTokens = gemmMin
					g, err := NewExecutor(cpu, b, o)
					if err != nil {
						t.Fatal(err)
					}
					defer g.Close()
					s, err := g.NewSession(len(prompt))
					if err != nil {
						t.Fatal(err)
					}
					defer s.Close()
					b.StartProfile()
					logits, err := s.Eval(prompt, true)
					if err != nil {
						t.Fatal(err)
					}
					p, err := b.StopProfile()
					if err != nil {
						t.Fatal(err)
					}
					grouped := 0
					for _, e := range p.Entries {
						if len(e.Name) > 13 && e.Name[:13] == "gemm_grouped_" {
							grouped += e.Count
						}
					}
					return logits, grouped
				}
				want, n0 := run(0)
				got, n := run(16)
				// With 4 staging slots in two parts a chunk holds two
				// experts' tokens: groups stay under the batch size.
				if n0 != 0 || n == 0 && o.StagingExperts == 0 {
					t.Fatalf("%+v: grouped launches %d with the tensor cores off, %d on (want 0 and some)", o, n0, n)
				}
				if d := maxRelDiff(got, want); d > 1e-5 {
					t.Errorf("%+v: grouped launch vs per-group products: max rel diff %.3g", o, d)
				}
			}
		})
	}
}
