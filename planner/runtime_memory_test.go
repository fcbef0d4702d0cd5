package planner

import (
	"errors"
	"testing"
)

// TestGguftoolTargetGPTOSS20B plans the real gpt-oss-20b geometry for
// gguftool's runtime: the GPU KV cache is f16 (sliding-window layers a ring
// of window + ubatch cells), the compute part is runtime/gpu's scratch, staging area,
// vectors and page rounding, and the reserve is the measured context.
func TestGguftoolTargetGPTOSS20B(t *testing.T) {
	for _, c := range []struct {
		typ     string
		vram    string
		auto    bool // AutoUBatch
		staging int  // expected staging experts (0: infeasible)
		ubatch  int  // expected ubatch
	}{
		{"f16", "4GiB", false, 32, 512}, {"q8_0", "3GiB", false, 32, 512}, {"f16", "8GiB", false, 32, 512},
		// The target: the Q8_0 layout within 2 GiB, CUDA context
		// included, at the default batch (scratch 148 MiB), with the VRAM
		// left (too little for any expert tensor) grown into the staging
		// area. At 1900 MiB only passes of 256 tokens fit.
		{"q8_0", "2GiB", false, 10, 512}, {"q8_0", "2GiB", true, 10, 512},
		{"q8_0", "1900MiB", false, 0, 512}, {"q8_0", "1900MiB", true, 5, 256},
	} {
		m := synthModel(t, "gpt-oss-20b", c.typ, 0)
		vram, _ := ParseSize(c.vram)
		man, err := Plan(m, Options{VRAM: vram, Context: 4096, Reserve: -1, Runtime: RuntimeGguftool, AutoUBatch: c.auto})
		var inf *InfeasibleError
		if errors.As(err, &inf) {
			t.Logf("%s %s: infeasible: %v", c.typ, c.vram, err)
			if c.staging != 0 {
				t.Errorf("%s %s (auto ubatch %v): infeasible, want a plan", c.typ, c.vram, c.auto)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		g, _ := man.GPU()
		hp := hparams(t, m)
		if c.staging == 0 {
			t.Fatalf("%s %s: planned, want infeasible", c.typ, c.vram)
		}
		if man.Budget.UBatch != c.ubatch {
			t.Errorf("%s %s: ubatch %d, want %d", c.typ, c.vram, man.Budget.UBatch, c.ubatch)
		}
		if g.TotalBytes > vram {
			t.Errorf("%s %s: plan of %d bytes over the budget", c.typ, c.vram, g.TotalBytes)
		}
		// Half K and V of 8 KV heads × 64: 12 full layers × 4096 positions,
		// 12 sliding-window layers × (window 128 + ubatch) cells.
		if want := int64(12*4096+12*(128+c.ubatch)) * 8 * 64 * 2 * 2; g.KVBytes != want {
			t.Errorf("%s: KV %d, want %d", c.typ, g.KVBytes, want)
		}
		if g.ReserveBytes != GguftoolReserve || man.Budget.Runtime != RuntimeGguftool {
			t.Errorf("%s: reserve %d runtime %q", c.typ, g.ReserveBytes, man.Budget.Runtime)
		}
		if man.Gguftool == nil || man.Gguftool.Total() != g.ComputeBytes {
			t.Fatalf("%s: compute %d not the gguftool breakdown %+v", c.typ, g.ComputeBytes, man.Gguftool)
		}
		onGPU := 0
		for _, l := range man.Layers {
			if l.GPUBytes > 0 {
				onGPU++
			}
		}
		t.Logf("%s %s: total %s (weights %s, KV %s, compute %s [%s], reserve %s), %d layers with experts on the GPU, args %v",
			c.typ, c.vram, FormatSize(g.TotalBytes), FormatSize(g.WeightsBytes), FormatSize(g.KVBytes), FormatSize(g.ComputeBytes),
			man.Gguftool.describe(), FormatSize(g.ReserveBytes), onGPU, man.LlamaCppArgs)
		if man.Budget.StagingExperts != c.staging && onGPU < hp.Layers {
			t.Errorf("%s %s: staging %d experts, want %d", c.typ, c.vram, man.Budget.StagingExperts, c.staging)
		}
	}
}
