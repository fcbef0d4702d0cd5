package runtime

import (
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
	c := make([]cand, len(logits))
	for i, v := range logits {
		c[i] = cand{id: i, logit: float64(v)}
	}
	sort.Slice(c, func(a, b int) bool { return c[a].logit > c[b].logit || c[a].logit == c[b].logit && c[a].id < c[b].id })
	if s.TopK > 0 && s.TopK < len(c) {
		c = c[:s.TopK]
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
