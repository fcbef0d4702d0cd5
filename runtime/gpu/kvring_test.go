package gpu

import (
	"fmt"
	"testing"

	"github.com/gguftool/gguftool/runtime"
)

// TestSlidingWindowRing: the gpt-oss fixture (sliding window 8 on every
// other layer) with a GPU cache whose sliding-window layers keep only
// window + batch rows, prefilled in passes of a few tokens over a prompt of
// several windows (so the rings wrap many times, also inside a pass) and
// then decoded, gives the logits of every position that the CPU runtime
// (which keeps every position) gives, within the f16 cache's tolerance.
func TestSlidingWindowRing(t *testing.T) {
	f := convertFixture(t, "gpt-oss", "q8_0")
	cpu, err := runtime.Load(f, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	prompt := make([]int32, 45)
	for i := range prompt {
		prompt[i] = int32(1 + (i*37+11)%500)
	}
	const decode = 6
	cs := cpu.NewSession(len(prompt) + decode + 1)
	wantLogits, err := cs.Eval(prompt, true)
	if err != nil {
		t.Fatal(err)
	}
	want := runResult{logits: wantLogits}
	last := wantLogits[len(wantLogits)-cpu.NVocab:]
	for range decode {
		tok := int32(argmax(last))
		want.greedy = append(want.greedy, tok)
		if last, err = cs.Eval([]int32{tok}, false); err != nil {
			t.Fatal(err)
		}
	}
	// The same GPU executor with a cache that keeps every position (no
	// Reserve: one pass per Eval, no ring): the ring must not change a
	// thing beyond the summation order of the passes (grouped or per-pair expert
	// products, ~2e-5 relative).
	full := func() runResult {
		g, err := NewExecutor(cpu, newTestBackend(t), Options{StagingExperts: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		s, err := g.NewSession(len(prompt) + decode + 1)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		logits, err := s.Eval(prompt, true)
		if err != nil {
			t.Fatal(err)
		}
		r := runResult{logits: logits}
		last := logits[len(logits)-cpu.NVocab:]
		for range decode {
			tok := int32(argmax(last))
			r.greedy = append(r.greedy, tok)
			if last, err = s.Eval([]int32{tok}, false); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}()
	t.Log(compareRuns(t, "gpt-oss GPU, no ring, vs CPU", full, want, cpu.NVocab, kvF16Tol))
	for _, batch := range []int{1, 3, 5, 11} {
		t.Run(fmt.Sprint("batch ", batch), func(t *testing.T) {
			g, err := NewExecutor(cpu, newTestBackend(t), Options{StagingExperts: 4})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if err := g.Reserve(batch); err != nil {
				t.Fatal(err)
			}
			s, err := g.NewSession(len(prompt) + decode + 1)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rings := 0
			for l := range g.layers {
				w := g.layers[l].attn.Window
				if w > 0 {
					if s.c.Cells(l) != w+batch {
						t.Fatalf("layer %d (window %d): %d cells, want window + batch = %d", l, w, s.c.Cells(l), w+batch)
					}
					rings++
				} else if s.c.Cells(l) != len(prompt)+decode+1 {
					t.Fatalf("full layer %d: %d cells", l, s.c.Cells(l))
				}
			}
			if rings == 0 {
				t.Fatal("no sliding-window layer in the fixture")
			}
			// Ragged calls: one Eval longer than the batch (split inside),
			// then pieces that straddle pass boundaries.
			var logits []float32
			for i, n := 0, 0; i < len(prompt); i += n {
				n = min([]int{2*batch + 1, 2, batch, 7}[len(logits)/cpu.NVocab%4], len(prompt)-i)
				l, err := s.Eval(prompt[i:i+n], true)
				if err != nil {
					t.Fatal(err)
				}
				logits = append(logits, l...)
			}
			got := runResult{logits: logits}
			last := logits[len(logits)-cpu.NVocab:]
			for range decode {
				tok := int32(argmax(last))
				got.greedy = append(got.greedy, tok)
				if last, err = s.Eval([]int32{tok}, false); err != nil {
					t.Fatal(err)
				}
			}
			t.Log(compareRuns(t, fmt.Sprintf("gpt-oss ring, passes of %d, vs CPU", batch), got, want, cpu.NVocab, kvF16Tol))
			t.Log(compareRuns(t, fmt.Sprintf("gpt-oss ring, passes of %d, vs no ring", batch), got, full, cpu.NVocab, 1e-4))
		})
	}
}
