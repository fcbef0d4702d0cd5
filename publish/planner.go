package publish

import (
	"errors"
	"fmt"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/planner"
)

// ProjectPlanner gives the card the figures of gguftool's planner with the
// defaults of `gguftool plan`: f16 KV cache, flash attention, llama.cpp's
// default ubatch and the planner's default reserve for the CUDA context.
type ProjectPlanner struct{}

func (ProjectPlanner) options(nCtx int, vram int64) planner.Options {
	return planner.Options{VRAM: vram, Context: nCtx, CacheType: planner.CacheF16, FlashAttn: true, Reserve: -1}
}

// Memory plans the model twice: at the smallest budget the planner accepts,
// which keeps every routed expert in CPU memory, and with unlimited VRAM,
// which puts every offloadable tensor on the GPU.
func (p ProjectPlanner) Memory(f *gguf.File, nCtx int) (Memory, error) {
	m := planner.FromFile(f)
	_, err := planner.Plan(m, p.options(nCtx, 0))
	var inf *planner.InfeasibleError
	if !errors.As(err, &inf) {
		if err == nil {
			err = fmt.Errorf("a plan fits in 0 bytes of VRAM")
		}
		return Memory{}, err
	}
	low, err := planner.Plan(m, p.options(nCtx, inf.Min))
	if err != nil {
		return Memory{}, err
	}
	high, err := planner.Plan(m, p.options(nCtx, 1<<62))
	if err != nil {
		return Memory{}, err
	}
	out := Memory{Context: nCtx}
	out.VRAMExpertsOnCPU, out.HostExpertsOnCPU, err = deviceTotals(low)
	if err != nil {
		return Memory{}, err
	}
	out.VRAMAllOnGPU, out.HostAllOnGPU, err = deviceTotals(high)
	return out, err
}

// Place plans the model under a VRAM budget.
func (p ProjectPlanner) Place(f *gguf.File, nCtx int, vram int64) (Placement, error) {
	man, err := planner.Plan(planner.FromFile(f), p.options(nCtx, vram))
	if err != nil {
		return Placement{}, err
	}
	gpu, host, err := deviceTotals(man)
	if err != nil {
		return Placement{}, err
	}
	return Placement{Context: nCtx, VRAM: vram, GPUBytes: gpu, HostBytes: host, LlamaCppArgs: man.LlamaCppArgs}, nil
}

func deviceTotals(man *planner.Manifest) (gpu, host int64, err error) {
	g, ok := man.GPU()
	if !ok {
		return 0, 0, fmt.Errorf("plan has no GPU device")
	}
	c, ok := man.Device("CPU")
	if !ok {
		return 0, 0, fmt.Errorf("plan has no CPU device")
	}
	return g.TotalBytes, c.TotalBytes, nil
}
