package planner

import "fmt"

// fitGguftool chooses, for the gguftool runtime, the prompt pass (o.UBatch,
// lowered when o.AutoUBatch and the minimum does not fit) and the staging
// area's size, and returns the runtime's GPU memory besides the weights,
// its KV cache (per layer, and the GPU's share) and notes on the choices.
// fixedW is the non-expert weights' bytes; st marks the tensors placed on
// the GPU so far (every non-expert one).
//
// The staging area holds expert_count experts per matrix when that fits
// (each prefill pass copies every expert once per layer), else
// expert_used_count (what decode needs), grown to the most that fit when
// the VRAM left over could not hold even the smallest expert tensor of a
// layer (so no expert would be placed there anyway). A fixed
// o.StagingExperts is kept as given.
func (o *Options) fitGguftool(m *Model, hp *HParams, st []state, experts []expertTensor, fixedW int64) (*GguftoolMemory, []LayerKV, int64, []string) {
	var notes []string
	rounding := weightRounding(m, hp, func(i int) bool { return st[i].whole == 1 })
	// The smallest unit the placement puts on the GPU: one role (weights
	// with their bias) of one layer's experts.
	roles := map[[2]any]int64{}
	for _, x := range experts {
		roles[[2]any{x.layer, x.role}] += x.size
	}
	minExpert := int64(-1)
	for _, b := range roles {
		if minExpert < 0 || b < minExpert {
			minExpert = b
		}
	}
	at := func(ub, staging int) (*GguftoolMemory, []LayerKV, int64, int64) {
		kv := hp.GguftoolKV(o.Context, min(ub, o.Context))
		var kvBytes int64
		for _, l := range kv {
			kvBytes += l.Bytes()
		}
		rt := gguftoolMemory(m, hp, min(ub, o.Context), staging)
		rt.Rounding = rounding
		gpuKV := kvBytes
		if rt.KVOnHost {
			gpuKV = 0
		} else {
			// The cache is one allocation: its page rounding.
			rt.Rounding += roundPage(kvBytes) - kvBytes
		}
		return rt, kv, gpuKV, fixedW + gpuKV + rt.Total() + o.Reserve
	}
	used := max(hp.ExpertsUsed, 1)
	var rt *GguftoolMemory
	var kv []LayerKV
	var gpuKV, need int64
	ub0 := o.UBatch
	for ub := o.UBatch; ; ub /= 2 {
		o.UBatch = ub
		switch {
		case len(experts) == 0:
			rt, kv, gpuKV, need = at(ub, 0)
		case o.StagingExperts > 0:
			rt, kv, gpuKV, need = at(ub, o.StagingExperts)
		default:
			rt, kv, gpuKV, need = at(ub, hp.Experts)
			if need > o.VRAM {
				rt, kv, gpuKV, need = at(ub, used)
				if need <= o.VRAM && o.VRAM-need < minExpert {
					for s := used + 1; s < hp.Experts; s++ {
						r2, kv2, g2, n2 := at(ub, s)
						if n2 > o.VRAM {
							break
						}
						rt, kv, gpuKV, need = r2, kv2, g2, n2
					}
				}
			}
		}
		if need <= o.VRAM || !o.AutoUBatch || ub/2 < MinAutoUBatch || rt.KVOnHost {
			break
		}
	}
	if o.UBatch != ub0 {
		notes = append(notes, fmt.Sprintf("ubatch lowered from %d to %d to fit the budget (the runtime evaluates prompts in passes of %d tokens)", ub0, o.UBatch, o.UBatch))
	}
	return rt, kv, gpuKV, notes
}
