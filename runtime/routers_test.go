package runtime

import (
	"math"
	"testing"
)

func TestSparseMixer(t *testing.T) {
	route := routeSparseMixer(0.01)
	ids, w := make([]int, 2), make([]float32, 2)
	// Far apart: both weights are 1 (nothing else within 2%).
	route([]float32{1, 5, 2, 3}, ids, w)
	if ids[0] != 1 || ids[1] != 3 || w[0] != 1 || w[1] != 1 {
		t.Errorf("separated logits: ids %v w %v", ids, w)
	}
	// Two logits within 2% relative of the top: the top's weight is the
	// softmax over the two; the second pick competes with its own neighbours.
	route([]float32{4.0, 4.05, -3, 1}, ids, w)
	want0 := 1 / (1 + math.Exp(4.0-4.05))
	if ids[0] != 1 || ids[1] != 0 || math.Abs(float64(w[0])-want0) > 1e-6 || w[1] != 1 {
		t.Errorf("near tie: ids %v w %v (want w0 %.6f)", ids, w, want0)
	}
}

func TestRouteSoftmaxTopK(t *testing.T) {
	ids, w := make([]int, 2), make([]float32, 2)
	routeSoftmaxTopK(false, 1)([]float32{0, 1, 2, 3}, ids, w)
	z := math.Exp(0) + math.Exp(1) + math.Exp(2) + math.Exp(3)
	if ids[0] != 3 || ids[1] != 2 || math.Abs(float64(w[0])-math.Exp(3)/z) > 1e-6 || math.Abs(float64(w[1])-math.Exp(2)/z) > 1e-6 {
		t.Errorf("deepseek gate: ids %v w %v", ids, w)
	}
	routeSoftmaxTopK(true, 2)([]float32{0, 1, 2, 3}, ids, w)
	if math.Abs(float64(w[0]+w[1])-2) > 1e-6 {
		t.Errorf("normalized and scaled weights %v do not sum to 2", w)
	}
	routeTopKSoftmax([]float32{0, 1, 2, 3}, ids, w)
	if ids[0] != 3 || math.Abs(float64(w[0])-1/(1+math.Exp(-1))) > 1e-6 {
		t.Errorf("gpt-oss gate: ids %v w %v", ids, w)
	}
}

// TestPhiMoELongRope checks that phimoe switches to the long factors once
// the sequence exceeds original_context_length, and only then.
func TestPhiMoELongRope(t *testing.T) {
	f := convertFixture(t, "phimoe", "f32")
	ref, want := readFixtureRef(t, "phimoe")
	m, err := Load(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := m.g.(*phimoe)
	if g.origCtx != 4096 {
		t.Fatalf("original context %d", g.origCtx)
	}
	n := len(ref.PromptIDs)
	g.origCtx = n // the prompt fits exactly: still short factors
	got, err := m.NewSession(0).Eval(ref.PromptIDs, true)
	if err != nil {
		t.Fatal(err)
	}
	if d, _, _, _ := logitStats(got, want.Data, m.NVocab); d > 1e-4 {
		t.Errorf("at the boundary the logits moved by %.3g", d)
	}
	g.origCtx = n - 1 // one token more than the original context: long factors
	got, err = m.NewSession(0).Eval(ref.PromptIDs, true)
	if err != nil {
		t.Fatal(err)
	}
	if d, _, _, _ := logitStats(got, want.Data, m.NVocab); d < 1e-3 {
		t.Errorf("long factors did not change the logits (max |Δ| %.3g)", d)
	}
}
