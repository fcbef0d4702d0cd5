package gpu

import (
	"testing"

	"github.com/gguftool/gguftool/runtime"
)

// TestGroupedExpertLaunch checks the one-launch grouped products of a
// prompt batch (ops.MatMulGrouped, taken when a group reaches the
// tensor-core batch size; for streamed experts, streamByExpert's expert
// chunks) against the per-group, token-chunked products: the groups'
// triples, row offsets, strides and per-expert biases, for experts
// resident on the GPU, streamed into the staging area (whole, or in halves
// of two experts), and split with the CPU cores.
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
			half := func(d int) int { return d / 2 }
			for _, c := range []struct {
				o        Options
				forceCPU func(int) int
			}{{o: Options{ExpertsOnGPU: true}}, {o: Options{ExpertsOn: ExpertsGPU, NoPrefetch: true}}, {o: Options{ExpertsOn: ExpertsGPU, StagingExperts: 4, NoPrefetch: true}},
				{o: Options{StagingExperts: 4, NoPrefetch: true}, forceCPU: half}, {o: Options{NoPrefetch: true}, forceCPU: half},
				// The next layer's busiest experts copied ahead: used where
				// its tokens picked them, also when the CPU takes part of
				// the layer (it spares the prefetched ones).
				{o: Options{ExpertsOn: ExpertsGPU}}, {o: Options{ExpertsOn: ExpertsGPU, StagingExperts: 4}},
				{o: Options{StagingExperts: 4}, forceCPU: half}} {
				o := c.o
				run := func(gemmMin int) ([]float32, int) {
					b := newTestBackend(t)
					b.k.GemmMinTokens = gemmMin
					g, err := NewExecutor(cpu, b, o)
					if err != nil {
						t.Fatal(err)
					}
					defer g.Close()
					if g.hyb != nil {
						g.hyb.forceCPU = c.forceCPU
					}
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
					if !o.NoPrefetch && !o.ExpertsOnGPU && gemmMin > 0 && g.ExpertStats().PrefetchedExperts == 0 {
						t.Errorf("%+v: no expert chunk was taken from the prefetch", o)
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
				// Resident experts and streamed ones (expert chunks, each
				// expert's rows in one group) take the grouped launch.
				if n0 != 0 || n == 0 {
					t.Fatalf("%+v: grouped launches %d with the tensor cores off, %d on (want 0 and some)", o, n0, n)
				}
				if d := maxRelDiff(got, want); d > 1e-5 {
					t.Errorf("%+v: grouped launch vs per-group products: max rel diff %.3g", o, d)
				}
			}
		})
	}
}
