package runtime

import (
	"math"
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
