package gpu

import (
	"testing"

	"github.com/gguftool/gguftool/runtime"
)

// TestPhiMoELongRoPE runs the phimoe fixture past its original context
// (4096): a prompt of 4090 positions (short factors), then decode steps
// that cross into the long factors, on the GPU executor (experts streamed)
// and on the CPU runtime; every decode step's logits must agree.
func TestPhiMoELongRoPE(t *testing.T) {
	if testing.Short() {
		t.Skip("4,100 positions through the CPU twins")
	}
	f := convertFixture(t, "phimoe", "q8_0")
	cpu, err := runtime.Load(f, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewExecutor(cpu, newTestBackend(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.longFreq == nil || g.longFrom != 4096 {
		t.Fatalf("the fixture should have LongRoPE factors switching at 4096: from %d", g.longFrom)
	}
	const nPrompt, nDecode, ub = 4090, 10, 512
	prompt := make([]int32, nPrompt)
	for i := range prompt {
		prompt[i] = int32(1 + i*7919%(cpu.NVocab-1))
	}
	gs, err := g.NewSession(nPrompt + nDecode)
	if err != nil {
		t.Fatal(err)
	}
	defer gs.Close()
	cs := cpu.NewSession(nPrompt + nDecode)
	var got, want []float32
	for i := 0; i < nPrompt; i += ub {
		j := min(i+ub, nPrompt)
		if got, err = gs.Eval(prompt[i:j], false); err != nil {
			t.Fatal(err)
		}
		if want, err = cs.Eval(prompt[i:j], false); err != nil {
			t.Fatal(err)
		}
	}
	var res, ref runResult
	for step := 0; step < nDecode; step++ {
		res.logits, ref.logits = append(res.logits, got...), append(ref.logits, want...)
		tok := int32(argmax(want))
		res.greedy, ref.greedy = append(res.greedy, int32(argmax(got))), append(ref.greedy, tok)
		if got, err = gs.Eval([]int32{tok}, false); err != nil {
			t.Fatal(err)
		}
		if want, err = cs.Eval([]int32{tok}, false); err != nil {
			t.Fatal(err)
		}
	}
	t.Log(compareRuns(t, "phimoe positions 4089..4099 (short → long rope)", res, ref, cpu.NVocab, kvF16Tol))
}
