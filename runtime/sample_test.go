package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestSampler(t *testing.T) {
	logits := []float32{1, 3, 2, 0.5, 2.9}
	if id := NewSampler(0, 0, 1, 1).Sample(logits); id != 1 {
		t.Errorf("greedy picked %d", id)
	}
	// top-k 2 keeps ids 1 and 4 only.
	s := NewSampler(1, 2, 1, 7)
	counts := map[int32]int{}
	for range 4000 {
		counts[s.Sample(logits)]++
	}
	if len(counts) != 2 || counts[1] == 0 || counts[4] == 0 {
		t.Errorf("top-k 2 sampled %v", counts)
	}
	// Their ratio follows exp(3 − 2.9) at temperature 1.
	if r := float64(counts[1]) / float64(counts[4]); math.Abs(r-math.Exp(0.1)) > 0.15 {
		t.Errorf("ratio %.3f, want %.3f", r, math.Exp(0.1))
	}
	// top-p 0.3 keeps only the most likely token here.
	s = NewSampler(1, 0, 0.3, 7)
	for range 100 {
		if id := s.Sample(logits); id != 1 {
			t.Fatalf("top-p 0.3 sampled %d", id)
		}
	}
	// Same seed, same sequence.
	a, b := NewSampler(0.8, 40, 0.95, 3), NewSampler(0.8, 40, 0.95, 3)
	for range 50 {
		if a.Sample(logits) != b.Sample(logits) {
			t.Fatal("seeded samplers diverged")
		}
	}
}

// TestTopIDsMatchesFullSort: the heap selection keeps exactly the first k
// of a full sort by (logit desc, id asc), ties included.
func TestTopIDsMatchesFullSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		l := make([]float32, 1+rng.IntN(3000))
		for i := range l {
			l[i] = float32(rng.NormFloat64() * 3)
			if rng.IntN(5) == 0 { // many exact ties
				l[i] = float32(rng.IntN(4))
			}
		}
		all := topIDs(l, 0)
		for _, k := range []int{1, 5, 40, len(l) - 1, len(l)} {
			got := topIDs(l, k)
			want := all[:min(k, len(l))]
			if k <= 0 || len(got) != len(want) {
				if k > 0 {
					t.Fatalf("k=%d: %d ids, want %d", k, len(got), len(want))
				}
				continue
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("trial %d k=%d: position %d is %d, full sort says %d", trial, k, i, got[i], want[i])
				}
			}
		}
	}
}

// BenchmarkSampleTopK samples from a gpt-oss-sized vocabulary (top-k 40,
// top-p 0.95, temp 0.8) and, as the baseline in the same run, with no
// top-k limit (a full sort).
func BenchmarkSampleTopK(b *testing.B) {
	l := make([]float32, 201088)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range l {
		l[i] = float32(rng.NormFloat64() * 3)
	}
	for _, k := range []int{40, 0} {
		b.Run(fmt.Sprintf("topk=%d", k), func(b *testing.B) {
			s := NewSampler(0.8, k, 0.95, 1)
			for i := 0; i < b.N; i++ {
				s.Sample(l)
			}
		})
	}
}
