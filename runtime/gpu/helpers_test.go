package gpu

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/convert"
	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/runtime"
)

// promptIDs is a fixed prompt inside every fixture's vocabulary.
var promptIDs = []int32{1, 17, 230, 5, 99, 64, 12, 7, 301, 45, 2, 88}

// convertFixture converts a fixture checkpoint into a temporary GGUF.
func convertFixture(t *testing.T, family, outType string) *gguf.File {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "fixtures", family)
	p, err := convert.NewPlan(dir, convert.Options{OutType: outType})
	if err != nil {
		if strings.Contains(err.Error(), "not supported") {
			t.Skipf("convert does not handle %s: %v", family, err)
		}
		t.Fatalf("convert %s: %v", family, err)
	}
	defer p.Close()
	path := filepath.Join(t.TempDir(), family+"-"+outType+".gguf")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(context.Background(), out, 0, nil); err != nil {
		out.Close()
		t.Fatal(err)
	}
	out.Close()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// hybrid places attention, routers, shared experts, norms and the head on
// the GPU, and the routed experts on the CPU, except that experts below
// gpuExperts of each stacked tensor go to the GPU as well.
func hybrid(gpuExperts int) runtime.Placement {
	gpu := runtime.Device{Kind: runtime.CUDA}
	return func(name string, expert int) runtime.Device {
		if strings.Contains(name, "_exps") {
			if expert >= 0 && expert < gpuExperts {
				return gpu
			}
			return runtime.CPUDevice
		}
		if name == "token_embd.weight" { // gathered on the host
			return runtime.CPUDevice
		}
		return gpu
	}
}

type runResult struct {
	logits []float32
	greedy []int32
}

// evalGreedy runs the prompt (logits of every position) and n greedy steps.
func evalGreedy(t *testing.T, m *runtime.Model, n int) runResult {
	t.Helper()
	s := m.NewSession(len(promptIDs) + n + 1)
	logits, err := s.Eval(promptIDs, true)
	if err != nil {
		t.Fatal(err)
	}
	r := runResult{logits: logits}
	last := logits[len(logits)-m.NVocab:]
	for i := 0; i < n; i++ {
		tok := int32(argmax(last))
		r.greedy = append(r.greedy, tok)
		if last, err = s.Eval([]int32{tok}, false); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func argmax(x []float32) int {
	b := 0
	for i, v := range x {
		if v > x[b] {
			b = i
		}
	}
	return b
}

// compareRuns checks GPU-backed logits and greedy tokens against the CPU
// run: max |Δ| within tol·max(1, max|ref|), same argmax at every position,
// same greedy tokens. It returns a summary line.
func compareRuns(t *testing.T, name string, got, want runResult, vocab int, tol float64) string {
	t.Helper()
	var maxDiff, maxRef float64
	for i := range want.logits {
		maxDiff = math.Max(maxDiff, math.Abs(float64(got.logits[i])-float64(want.logits[i])))
		maxRef = math.Max(maxRef, math.Abs(float64(want.logits[i])))
	}
	agree := 0
	n := len(want.logits) / vocab
	for p := 0; p < n; p++ {
		if argmax(got.logits[p*vocab:(p+1)*vocab]) == argmax(want.logits[p*vocab:(p+1)*vocab]) {
			agree++
		}
	}
	same := fmt.Sprint(got.greedy) == fmt.Sprint(want.greedy)
	if maxDiff > tol*math.Max(1, maxRef) || agree != n || !same || math.IsNaN(maxDiff) {
		t.Errorf("%s: max |Δlogit| %.3g (max|ref| %.3g), argmax %d/%d, greedy %v vs CPU %v", name, maxDiff, maxRef, agree, n, got.greedy, want.greedy)
	}
	return fmt.Sprintf("%-40s max|Δlogit| %.2e  argmax %d/%d  greedy same=%v", name, maxDiff, agree, n, same)
}
