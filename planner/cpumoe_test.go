package planner

import (
	"slices"
	"strconv"
	"testing"
)

// TestCPUMoEKeepsFirstLayersExperts: Options.CPUMoE (llama.cpp's
// --n-cpu-moe) keeps the experts of the first N layers in CPU memory even
// where the budget has room, and the layer count or more keeps every
// expert there (the "all experts in CPU memory within 4 GiB" for
// gpt-oss-20b's F16 layout), with whole layers, per-expert slices and the
// llama.cpp flags agreeing.
func TestCPUMoEKeepsFirstLayersExperts(t *testing.T) {
	m := synthModel(t, "gpt-oss-20b", "f16", 0)
	vram, _ := ParseSize("8GiB")
	onGPU := func(man *Manifest) []int {
		g, _ := man.GPU()
		var layers []int
		for _, p := range man.Tensors {
			if p.Kind == KindExperts && p.Device == g.Name && !slices.Contains(layers, p.Layer) {
				layers = append(layers, p.Layer)
			}
		}
		slices.Sort(layers)
		return layers
	}
	for _, perExpert := range []bool{false, true} {
		free, err := Plan(m, Options{VRAM: vram, Context: 4096, Reserve: -1, Runtime: RuntimeGguftool, PerExpert: perExpert})
		if err != nil {
			t.Fatal(err)
		}
		if got := onGPU(free); len(got) == 0 || got[0] >= 20 {
			t.Fatalf("per-expert %v: the 8 GiB plan put experts of layers %v on the GPU; the test needs some below 20", perExpert, got)
		}
		kept, err := Plan(m, Options{VRAM: vram, Context: 4096, Reserve: -1, Runtime: RuntimeGguftool, PerExpert: perExpert, CPUMoE: 20})
		if err != nil {
			t.Fatal(err)
		}
		if got := onGPU(kept); len(got) == 0 || got[0] < 20 {
			t.Errorf("per-expert %v, CPUMoE 20: experts of layers %v on the GPU, want only layers ≥ 20", perExpert, got)
		}
		if kept.Budget.CPUMoE != 20 {
			t.Errorf("manifest budget n_cpu_moe %d, want 20", kept.Budget.CPUMoE)
		}
	}
	// Every expert in CPU memory: a 4 GiB plan of the F16 layout.
	vram4, _ := ParseSize("4GiB")
	all, err := Plan(m, Options{VRAM: vram4, Context: 4096, Reserve: -1, Runtime: RuntimeGguftool, CPUMoE: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if got := onGPU(all); len(got) != 0 {
		t.Errorf("CPUMoE ≥ layers: experts of layers %v on the GPU", got)
	}
	i := slices.Index(all.LlamaCppArgs, "--n-cpu-moe")
	if i < 0 || i+1 >= len(all.LlamaCppArgs) {
		t.Fatalf("llama.cpp args %v lack --n-cpu-moe", all.LlamaCppArgs)
	}
	if n, _ := strconv.Atoi(all.LlamaCppArgs[i+1]); n != 24 {
		t.Errorf("llama.cpp args %v: --n-cpu-moe %d, want 24", all.LlamaCppArgs, n)
	}
	if _, err := Plan(m, Options{VRAM: vram4, CPUMoE: -1}); err == nil {
		t.Error("CPUMoE -1 accepted")
	}
}
