package runtime

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"sort"
)

// Sampler picks the next token from logits: greedy when Temp is 0, else
// top-k, then top-p (nucleus, on the untempered probabilities), then
// temperature over what is left — the order of llama.cpp's default chain.
type Sampler struct {
	Temp float64
	TopK int     // ≤ 0: no limit
	TopP float64 // ≥ 1: no limit
	rng  *rand.Rand
}

// NewSampler returns a sampler seeded with seed (same seed, same tokens).
func NewSampler(temp float64, topK int, topP float64, seed uint64) *Sampler {
	return &Sampler{Temp: temp, TopK: topK, TopP: topP, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
}

// Sample returns the chosen token id.
func (s *Sampler) Sample(logits []float32) int32 {
	if s.Temp <= 0 {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		return int32(best)
	}
	type cand struct {
		id    int
		logit float64
		p     float64
	}
	ids := topIDs(logits, s.TopK)
	c := make([]cand, len(ids))
	for i, id := range ids {
		c[i] = cand{id: id, logit: float64(logits[id])}
	}
	if s.TopP > 0 && s.TopP < 1 {
		// Nucleus on the temperature-1 distribution of the candidates.
		var sum float64
		for i := range c {
			c[i].p = math.Exp(c[i].logit - c[0].logit)
			sum += c[i].p
		}
		var acc float64
		for i := range c {
			acc += c[i].p / sum
			if acc >= s.TopP {
				c = c[:i+1]
				break
			}
		}
	}
	var sum float64
	for i := range c {
		c[i].p = math.Exp((c[i].logit - c[0].logit) / s.Temp)
		sum += c[i].p
	}
	u := s.rng.Float64() * sum
	for _, x := range c {
		u -= x.p
		if u < 0 {
			return int32(x.id)
		}
	}
	return int32(c[len(c)-1].id)
}

// better orders candidates: higher logit first, then lower id, so that
// ties are broken the same way whatever the selection method.
func better(l []float32, a, b int) bool { return l[a] > l[b] || l[a] == l[b] && a < b }

// topIDs returns the ids of the k best logits, best first (all of them when
// k ≤ 0). A heap of k keeps this O(n log k): sorting a 200k-entry
// vocabulary for every token took 40 ms, longer than a decode step.
func topIDs(logits []float32, k int) []int {
	if k <= 0 || k >= len(logits) {
		ids := make([]int, len(logits))
		for i := range ids {
			ids[i] = i
		}
		sort.Slice(ids, func(a, b int) bool { return better(logits, ids[a], ids[b]) })
		return ids
	}
	h := &worstFirst{logits: logits, ids: make([]int, 0, k)}
	for id := range logits {
		if h.Len() < k {
			heap.Push(h, id)
		} else if better(logits, id, h.ids[0]) {
			h.ids[0] = id
			heap.Fix(h, 0)
		}
	}
	sort.Slice(h.ids, func(a, b int) bool { return better(logits, h.ids[a], h.ids[b]) })
	return h.ids
}

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
