package main

import (
	"container/heap"
	"sort"

	"github.com/gguftool/gguftool/runtime"
)

// sampleToken returns exactly what smp.Sample(logits) returns, but with a
// top-k limit it hands the sampler only the k best candidates (found with
// a heap in O(n log k)) instead of letting it sort the whole vocabulary:
// for gpt-oss's 201,088 logits that sort took ~80 ms per token, more than
// the GPU's forward pass. The candidates keep ascending id order, so the
// sampler's tie-breaking (lower id first) and its single random draw are
// unchanged.
func sampleToken(smp *runtime.Sampler, logits []float32) int32 {
	k := smp.TopK
	if smp.Temp <= 0 || k <= 0 || k >= len(logits) {
		return smp.Sample(logits)
	}
	h := &worstFirst{logits: logits}
	for id := range logits {
		if h.Len() < k {
			heap.Push(h, id)
		} else if better(logits, id, h.ids[0]) {
			h.ids[0] = id
			heap.Fix(h, 0)
		}
	}
	ids := h.ids
	sort.Ints(ids)
	sub := make([]float32, len(ids))
	for i, id := range ids {
		sub[i] = logits[id]
	}
	return int32(ids[smp.Sample(sub)])
}

// better orders candidates as the sampler does: higher logit, then lower id.
func better(l []float32, a, b int) bool { return l[a] > l[b] || l[a] == l[b] && a < b }

// worstFirst is a heap of token ids whose root is the worst kept candidate.
type worstFirst struct {
	logits []float32
	ids    []int
}

func (h *worstFirst) Len() int           { return len(h.ids) }
func (h *worstFirst) Less(i, j int) bool { return better(h.logits, h.ids[j], h.ids[i]) }
func (h *worstFirst) Swap(i, j int)      { h.ids[i], h.ids[j] = h.ids[j], h.ids[i] }
func (h *worstFirst) Push(x any)         { h.ids = append(h.ids, x.(int)) }
func (h *worstFirst) Pop() any {
	x := h.ids[len(h.ids)-1]
	h.ids = h.ids[:len(h.ids)-1]
	return x
}
