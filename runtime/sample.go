package runtime

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Sampler picks the next token from logits: greedy when Temp is 0, else
// temperature, then top-k, then top-p (nucleus) filtering, as llama.cpp's
// default chain does.
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
		id int
		p  float64
	}
	c := make([]cand, len(logits))
	for i, v := range logits {
		c[i] = cand{i, float64(v) / s.Temp}
	}
	sort.Slice(c, func(a, b int) bool { return c[a].p > c[b].p || c[a].p == c[b].p && c[a].id < c[b].id })
	if s.TopK > 0 && s.TopK < len(c) {
		c = c[:s.TopK]
	}
	m := c[0].p
	var sum float64
	for i := range c {
		c[i].p = math.Exp(c[i].p - m)
		sum += c[i].p
	}
	if s.TopP > 0 && s.TopP < 1 {
		var acc float64
		for i := range c {
			acc += c[i].p / sum
			if acc >= s.TopP {
				c = c[:i+1]
				break
			}
		}
		sum = 0
		for _, x := range c {
			sum += x.p
		}
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
