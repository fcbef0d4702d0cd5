package runtime

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/convert"
	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/runtime/kernels"
	"github.com/gguftool/gguftool/runtime/npy"
)

// The four fixture checkpoints with transformers' float32 logits
// (testdata/fixtures/README.md).
var fixtureFamilies = []string{"gpt-oss", "phimoe", "deepseek-moe", "deepseek-v2-lite"}

func fixtureDir(family string) string {
	return filepath.Join("..", "testdata", "fixtures", family)
}

type fixtureRef struct {
	PromptIDs          []int32 `json:"prompt_ids"`
	GreedyContinuation []int32 `json:"greedy_continuation"`
}

func readFixtureRef(t *testing.T, family string) (*fixtureRef, *npy.Array) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir(family), "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref fixtureRef
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	logits, err := npy.ReadFile(filepath.Join(fixtureDir(family), "reference_logits.npy"))
	if err != nil {
		t.Fatal(err)
	}
	return &ref, logits
}

// convertFixture converts a fixture checkpoint with package convert into a
// temporary GGUF of the given outtype and opens it.
func convertFixture(t *testing.T, family, outType string) *gguf.File {
	t.Helper()
	p, err := convert.NewPlan(fixtureDir(family), convert.Options{OutType: outType})
	if err != nil {
		if strings.Contains(err.Error(), "not supported") {
			t.Skipf("convert does not handle %s yet: %v", family, err)
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
		t.Fatalf("convert %s: %v", family, err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// logitStats compares our logits with the reference: max |Δ|, nmse, the
// number of positions whose argmax agrees.
func logitStats(got, want []float32, vocab int) (maxDiff, nmse float64, agree int, maxRef float64) {
	var errSq, refSq float64
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		maxDiff = math.Max(maxDiff, d)
		maxRef = math.Max(maxRef, math.Abs(float64(want[i])))
		errSq += d * d
		refSq += float64(want[i]) * float64(want[i])
	}
	for p := 0; p < len(want)/vocab; p++ {
		if argmax(got[p*vocab:(p+1)*vocab]) == argmax(want[p*vocab:(p+1)*vocab]) {
			agree++
		}
	}
	return maxDiff, errSq / refSq, agree, maxRef
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

// TestFixturesF32 is the acceptance test of the forward passes: each
// fixture converted at f32 reproduces transformers' logits within
// 1e-3·max(1, max|ref|) with the same argmax everywhere, and greedy
// generation through the KV cache reproduces greedy_continuation.
func TestFixturesF32(t *testing.T) {
	for _, fam := range fixtureFamilies {
		t.Run(fam, func(t *testing.T) {
			ref, want := readFixtureRef(t, fam)
			f := convertFixture(t, fam, "f32")
			m, err := Load(f, Options{})
			if err != nil {
				t.Fatal(err)
			}
			vocab := want.Shape[1]
			if m.NVocab != vocab {
				t.Fatalf("model vocabulary %d, reference logits have %d", m.NVocab, vocab)
			}
			s := m.NewSession(0)
			got, err := s.Eval(ref.PromptIDs, true)
			if err != nil {
				t.Fatal(err)
			}
			maxDiff, nmse, agree, maxRef := logitStats(got, want.Data, vocab)
			n := len(ref.PromptIDs)
			t.Logf("%s f32: max|Δ| %.3g (max|ref| %.2f), nmse %.3g, argmax %d/%d", fam, maxDiff, maxRef, nmse, agree, n)
			if tol := 1e-3 * math.Max(1, maxRef); maxDiff > tol {
				t.Errorf("max |Δ| %.3g exceeds %.3g", maxDiff, tol)
			}
			if agree != n {
				t.Errorf("argmax agrees at %d of %d positions", agree, n)
			}
			// Greedy continuation: prompt prefill, then one token at a time.
			gen, _, err := m.NewSession(0).Generate(ref.PromptIDs, GenerateOptions{MaxTokens: len(ref.GreedyContinuation)})
			if err != nil {
				t.Fatal(err)
			}
			if !equalIDs(gen, ref.GreedyContinuation) {
				t.Errorf("greedy continuation %v, want %v", gen, ref.GreedyContinuation)
			}
			// Token-by-token prefill must give the same logits as the batch.
			s1 := m.NewSession(0)
			for i, id := range ref.PromptIDs {
				l, err := s1.Eval([]int32{id}, false)
				if err != nil {
					t.Fatal(err)
				}
				md, _, _, _ := logitStats(l, got[i*vocab:(i+1)*vocab], vocab)
				if md > 1e-4*math.Max(1, maxRef) {
					t.Fatalf("position %d: one-token evaluation differs from batch prefill by %.3g", i, md)
				}
			}
		})
	}
}

// TestFixturesLowPrecision reports the error of bf16 and q8_0 conversions
// (architectures.md §1.5: compare argmax and nmse there, not tight bounds).
func TestFixturesLowPrecision(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, fam := range fixtureFamilies {
		for _, ot := range []string{"f16", "bf16", "q8_0"} {
			t.Run(fam+"/"+ot, func(t *testing.T) {
				ref, want := readFixtureRef(t, fam)
				f := convertFixture(t, fam, ot)
				m, err := Load(f, Options{})
				if err != nil {
					t.Fatal(err)
				}
				got, routes, err := evalWithRoutes(m, ref.PromptIDs)
				if err != nil {
					t.Fatal(err)
				}
				mf32, err := Load(convertFixture(t, fam, "f32"), Options{})
				if err != nil {
					t.Fatal(err)
				}
				_, routesF32, err := evalWithRoutes(mf32, ref.PromptIDs)
				if err != nil {
					t.Fatal(err)
				}
				flips, total := routeFlips(routes, routesF32)
				maxDiff, nmse, agree, _ := logitStats(got, want.Data, want.Shape[1])
				t.Logf("%s %s: max|Δ| %.3g, nmse %.3g, argmax %d/%d, expert choices differing from f32: %d of %d token×layer routings",
					fam, ot, maxDiff, nmse, agree, len(ref.PromptIDs), flips, total)
				// The portable kernels must give the same logits up to rounding.
				kernels.SetSIMD(false)
				port, err := m.NewSession(0).Eval(ref.PromptIDs, true)
				kernels.SetSIMD(true)
				if err != nil {
					t.Fatal(err)
				}
				if d, _, _, _ := logitStats(port, got, want.Shape[1]); d > 1e-3 {
					t.Errorf("portable and SIMD kernels differ by %.3g", d)
				}
				if nmse > 0.05 {
					t.Errorf("nmse %.3g: far beyond rounding error", nmse)
				}
			})
		}
	}
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// evalWithRoutes evaluates a prompt and returns the logits and, per MoE
// layer, the chosen expert ids of each token.
func evalWithRoutes(m *Model, ids []int32) ([]float32, map[int][][]int, error) {
	s := m.NewSession(0)
	routes := map[int][][]int{}
	s.onRoute = func(layer, nExpert, nUsed int, chosen []int) {
		for t := 0; t+nUsed <= len(chosen); t += nUsed {
			routes[layer] = append(routes[layer], append([]int(nil), chosen[t:t+nUsed]...))
		}
	}
	logits, err := s.Eval(ids, true)
	return logits, routes, err
}

// routeFlips counts routings (token, layer) whose expert sets differ.
func routeFlips(a, b map[int][][]int) (flips, total int) {
	for l, ra := range a {
		for t, ids := range ra {
			total++
			if t >= len(b[l]) || !sameSet(ids, b[l][t]) {
				flips++
			}
		}
	}
	return flips, total
}

func sameSet(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x == y
		}
		if !found {
			return false
		}
	}
	return true
}
