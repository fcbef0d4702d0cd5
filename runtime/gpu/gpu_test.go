//go:build cuda

package gpu

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/runtime"
)

// TestFixturesOnGPU is the hybrid acceptance on a real GPU: every fixture,
// converted at f32, f16 and q8_0, runs with (a) all routed experts in CPU
// memory and everything else on the GPU, (b) half the experts on the GPU,
// (c) everything but the embedding table on the GPU. Logits of all prompt
// positions and 8 greedy tokens must match the CPU-only run.
func TestFixturesOnGPU(t *testing.T) {
	var summary []string
	for _, fam := range families {
		for _, ot := range []string{"f32", "f16", "q8_0"} {
			t.Run(fam+"/"+ot, func(t *testing.T) {
				f := convertFixture(t, fam, ot)
				cpu, err := runtime.Load(f, runtime.Options{})
				if err != nil {
					t.Fatal(err)
				}
				want := evalGreedy(t, cpu, 8)
				nExp := 0
				for i := range f.Tensors {
					if ti := &f.Tensors[i]; ti.IsExperts() && len(ti.Dims) == 3 {
						nExp = int(ti.Dims[2])
					}
				}
				for _, pl := range []struct {
					name string
					gpuE int
				}{{"experts on CPU", 0}, {"half the experts on GPU", nExp / 2}, {"all on GPU", 1 << 30}} {
					b, err := New(0)
					if err != nil {
						t.Fatal(err)
					}
					m, err := runtime.Load(f, runtime.Options{Placement: hybrid(pl.gpuE), Backends: []runtime.Backend{b}})
					if err != nil {
						b.Close()
						t.Fatal(err)
					}
					got := evalGreedy(t, m, 8)
					used, _ := b.MemoryUsed()
					line := compareRuns(t, fmt.Sprintf("%s %s %s", fam, ot, pl.name), got, want, m.NVocab, 1e-3)
					summary = append(summary, fmt.Sprintf("%s  weights %d B, VRAM used %d B", line, b.WeightBytes(), used))
					b.Close()
				}
			})
		}
	}
	fmt.Println("HYBRID " + strings.Join(summary, "\nHYBRID "))
}

func init() {
	newTestBackend = func(t *testing.T) *Backend {
		b, err := New(0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
}

var families = []string{"gpt-oss", "phimoe", "deepseek-moe", "deepseek-v2-lite"}
