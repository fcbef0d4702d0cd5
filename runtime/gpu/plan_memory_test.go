package gpu

import (
	"errors"
	"testing"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/planner"
	"github.com/gguftool/gguftool/runtime"
)

func roundPage(n uint64) uint64 { return (n + 2<<20 - 1) / (2 << 20) * (2 << 20) }

// TestPlannerModelsExecutorMemory checks the planner's gguftool-runtime
// memory model (planner/runtime_memory.go) against what each GPU executor
// (gpt-oss, deepseek, deepseek2, phimoe) really allocates for the same plan: the KV cache, the scratch
// slots a batch of ubatch tokens uses (each rounded to the driver's 2 MiB
// pages, as the planner counts them), the staging area and the packed
// vectors, and the page rounding of the packed weights and KV cache. A
// slot added to the executor without the planner fails here.
func TestPlannerModelsExecutorMemory(t *testing.T) {
	for _, family := range []string{"gpt-oss", "deepseek-moe", "deepseek-v2-lite", "phimoe"} {
		t.Run(family, func(t *testing.T) { checkExecutorMemory(t, convertFixture(t, family, "q8_0")) })
	}
	// DeepSeek-V2's full query path (q_a, its norm, q_b) adds a slot.
	t.Run("deepseek2-qlora", func(t *testing.T) { checkExecutorMemory(t, qloraFile(t)) })
}

func checkExecutorMemory(t *testing.T, f *gguf.File) {
	checkExecutorMemoryAt(t, f, 40, 100, []int{0, 4})
	// A batch whose scratch spans several pages (and wraps gpt-oss's rings).
	checkExecutorMemoryAt(t, f, 160, 200, []int{4})
}

func checkExecutorMemoryAt(t *testing.T, f *gguf.File, ub, ctx int, stagings []int) {
	for _, staging := range stagings {
		// The smallest budget: every expert stays in CPU memory.
		o := planner.Options{VRAM: 1 << 20, Context: ctx, UBatch: ub, Reserve: -1, Runtime: planner.RuntimeGguftool, StagingExperts: staging}
		_, err := planner.Plan(planner.FromFile(f), o)
		var inf *planner.InfeasibleError
		if !errors.As(err, &inf) {
			t.Fatalf("plan at 1 MiB: %v", err)
		}
		o.VRAM = inf.Min
		man, err := planner.Plan(planner.FromFile(f), o)
		if err != nil {
			t.Fatal(err)
		}
		if man.Gguftool.Staging == 0 {
			t.Fatalf("the minimal plan has no staging area: %+v", man.Gguftool)
		}
		// Keep the experts in CPU memory so the staging area exists.
		m, err := runtime.Load(f, runtime.Options{})
		if err != nil {
			t.Fatal(err)
		}
		b := newTestBackend(t)
		g, err := NewExecutor(m, b, Options{StagingExperts: man.Budget.StagingExperts})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Reserve(ub); err != nil {
			t.Fatal(err)
		}
		s, err := g.NewSession(ctx)
		if err != nil {
			t.Fatal(err)
		}
		prompt := make([]int32, ub)
		for i := range prompt {
			prompt[i] = int32(1 + i*7%200)
		}
		// Every position's logits (as --validate asks): in pieces through
		// the one-row logits slot, no VRAM beyond the plan.
		if _, err := s.Eval(prompt, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Eval([]int32{3}, false); err != nil {
			t.Fatal(err)
		}
		gm := man.Gguftool
		gd, _ := man.GPU()
		// Every slot the batch and the decode step used is still a view of
		// the one allocation Reserve made (none had to grow past it).
		scratch := roundPage(b.scrPack.Size)
		for i, buf := range b.scr {
			if buf != nil && (buf.Ptr < b.scrPack.Ptr || buf.Ptr+cuda.DevicePtr(buf.Size) > b.scrPack.Ptr+cuda.DevicePtr(b.scrPack.Size)) {
				t.Errorf("scratch slot %d (%d bytes) grew out of the reserved allocation", i, buf.Size)
			}
		}
		// Weights packed into one allocation (plus the KV cache's): their
		// page rounding is the planner's.
		var rounding uint64
		for _, p := range b.packs {
			rounding += roundPage(p.Size)
		}
		rounding += roundPage(s.KVBytes()) - s.KVBytes() - b.weightBytes
		if int64(rounding) != gm.Rounding {
			t.Errorf("allocation rounding: executor %d bytes, planner %d", rounding, gm.Rounding)
		}
		var stage uint64
		for i := range g.stage {
			stage += roundPage(g.stage[i].Size) + roundPage(g.stageBias[i].Size)
		}
		if int64(stage) != gm.Staging {
			t.Errorf("staging %d: executor %d bytes, planner %d", staging, stage, gm.Staging)
		}
		if int64(scratch) != gm.Scratch {
			t.Errorf("scratch for %d tokens: executor %d bytes, planner %d", ub, scratch, gm.Scratch)
		}
		if int64(s.KVBytes()) != gd.KVBytes {
			t.Errorf("KV cache: executor %d bytes, planner %d", s.KVBytes(), gd.KVBytes)
		}
		if vec := roundPage(b.vecArena.bytes); int64(vec) > gm.Vectors {
			t.Errorf("vectors: executor %d bytes (rounded), planner %d", vec, gm.Vectors)
		}
		t.Logf("staging %d: scratch %d, staging %d/%d, KV %d, vectors %d/%d", man.Budget.StagingExperts, scratch, stage, gm.Staging, s.KVBytes(), b.vecArena.bytes, gm.Vectors)
		s.Close()
		g.Close()
	}
}
