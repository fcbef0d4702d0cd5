package gpu

import (
	"testing"

	"github.com/gguftool/gguftool/runtime"
)

// TestCPUHalfCacheMatchesExecutor: the CPU runtime with its cache rounded
// to binary16 (what run --validate uses) computes what the executor's f16
// cache computes, up to float32 summation order — much closer than the
// CPU runtime's float32 cache, whose difference is the f16 rounding itself.
func TestCPUHalfCacheMatchesExecutor(t *testing.T) {
	for _, fam := range []string{"gpt-oss", "deepseek-v2-lite"} {
		t.Run(fam, func(t *testing.T) {
			cpu, err := runtime.Load(convertFixture(t, fam, "f32"), runtime.Options{})
			if err != nil {
				t.Fatal(err)
			}
			g, err := NewExecutor(cpu, newTestBackend(t), Options{ExpertsOnGPU: true})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			s, err := g.NewSession(len(promptIDs))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := s.Eval(promptIDs, true)
			if err != nil {
				t.Fatal(err)
			}
			eval := func(half bool) []float32 {
				cs := cpu.NewSession(len(promptIDs))
				if half {
					cs.RoundKVToHalf()
				}
				l, err := cs.Eval(promptIDs, true)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			dHalf, dF32 := maxRelDiff(got, eval(true)), maxRelDiff(got, eval(false))
			t.Logf("executor vs CPU: f16-rounded cache %.3g, float32 cache %.3g", dHalf, dF32)
			if dHalf > 5e-5 || dHalf > dF32/10 {
				t.Errorf("executor vs CPU with the f16-rounded cache: %.3g (float32 cache: %.3g)", dHalf, dF32)
			}
		})
	}
}
