package runtime

import (
	"sync"
	"testing"

	"github.com/gguftool/gguftool/planner"
)

// fakeGPU is a backend for "cuda:0" that computes with the CPU kernels and
// records which tensor rows it was asked to multiply, so that tests can
// check that every op runs where the placement put its weights.
type fakeGPU struct {
	mu       sync.Mutex
	uploaded map[string]bool
	calls    map[string]map[int]int // tensor → first row → count
}

func newFakeGPU() *fakeGPU {
	return &fakeGPU{uploaded: map[string]bool{}, calls: map[string]map[int]int{}}
}

func (g *fakeGPU) Device() Device { return Device{Kind: CUDA} }
func (g *fakeGPU) Upload(t *Tensor) error {
	g.uploaded[t.Name] = true
	return nil
}
func (g *fakeGPU) MatMul(dst []float32, t *Tensor, r0, r1 int, x []float32, n int) error {
	g.mu.Lock()
	if g.calls[t.Name] == nil {
		g.calls[t.Name] = map[int]int{}
	}
	g.calls[t.Name][r0]++
	g.mu.Unlock()
	return cpuBackend{}.MatMul(dst, t, r0, r1, x, n)
}

// TestPlacementManifest runs the deepseek-moe fixture under a planner
// manifest that splits experts between a (fake) GPU and the CPU, and checks
// that logits equal the CPU-only run and that exactly the GPU-placed weights
// (and, for split expert tensors, exactly the GPU experts) ran on the GPU.
func TestPlacementManifest(t *testing.T) {
	f := convertFixture(t, "deepseek-moe", "f32")
	ref, _ := readFixtureRef(t, "deepseek-moe")
	cpuModel, err := Load(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := cpuModel.NewSession(0).Eval(ref.PromptIDs, true)
	if err != nil {
		t.Fatal(err)
	}
	// Size the budget so that some but not all experts fit.
	man, err := planner.Plan(planner.FromFile(f), planner.Options{VRAM: 18 << 20, Context: 64, Reserve: 0, PerExpert: true})
	if err != nil {
		t.Fatal(err)
	}
	place, err := PlacementFromManifest(man, f)
	if err != nil {
		t.Fatal(err)
	}
	gpu := newFakeGPU()
	m, err := Load(f, Options{Placement: place, Backends: []Backend{gpu}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.NewSession(0).Eval(ref.PromptIDs, true)
	if err != nil {
		t.Fatal(err)
	}
	if d, _, _, _ := logitStats(got, want, m.NVocab); d != 0 {
		t.Errorf("placed run differs from the CPU run by %.3g", d)
	}
	onGPU, onCPU, split := 0, 0, 0
	for _, p := range man.Tensors {
		tn := m.tensors[p.Name]
		isGPU := false
		for _, d := range man.Devices {
			if d.Name == p.Device {
				isGPU = d.Kind == planner.KindGPU
			}
		}
		if p.Expert != nil {
			split++
		}
		if tn.Rows() == 0 || p.Name == "token_embd.weight" {
			continue // embeddings are read by row, norms are host vectors
		}
		if tn.Info.Dims[0] == tn.Info.NumElements() {
			continue // 1-D
		}
		row := 0
		if p.Expert != nil {
			row = *p.Expert * (tn.Rows() / int(tn.Info.Dims[len(tn.Info.Dims)-1]))
		}
		ran := gpu.calls[p.Name][row] > 0
		if isGPU {
			onGPU++
		} else {
			onCPU++
		}
		if ran && !isGPU {
			t.Errorf("%s (expert %v) is on the CPU but ran on the GPU backend", p.Name, p.Expert)
		}
		// Dense weights always run; a GPU expert may simply not be chosen.
		if isGPU && !ran && p.Expert == nil && !tn.Info.IsExperts() {
			t.Errorf("%s is on the GPU but never ran there", p.Name)
		}
	}
	t.Logf("manifest: %d placements, %d expert slices; %d matrices on GPU, %d on CPU", len(man.Tensors), split, onGPU, onCPU)
	if onGPU == 0 || onCPU == 0 {
		t.Errorf("budget did not split the model (GPU %d, CPU %d); adjust VRAM", onGPU, onCPU)
	}
	// Without the GPU backend the load must fail clearly.
	if _, err := Load(f, Options{Placement: place}); err == nil {
		t.Error("loading a GPU placement without a GPU backend succeeded")
	}
}

// TestRoutingProfile records expert choices over the fixture prompt: every
// MoE layer sees each token pick expert_used_count distinct experts.
func TestRoutingProfile(t *testing.T) {
	f := convertFixture(t, "gpt-oss", "f32")
	ref, _ := readFixtureRef(t, "gpt-oss")
	m, err := Load(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewSession(0)
	s.RecordRouting()
	if _, err := s.Eval(ref.PromptIDs, false); err != nil {
		t.Fatal(err)
	}
	p := s.Profile()
	if len(p.Layers) != m.NLayer || p.Tokens != int64(len(ref.PromptIDs)) {
		t.Fatalf("profile has %d layers and %d tokens, want %d and %d", len(p.Layers), p.Tokens, m.NLayer, len(ref.PromptIDs))
	}
	for _, l := range p.Layers {
		var sum int64
		for _, c := range l.Counts {
			if c > int64(len(ref.PromptIDs)) {
				t.Errorf("layer %d: an expert chosen %d times for %d tokens", l.Layer, c, len(ref.PromptIDs))
			}
			sum += c
		}
		if sum != 2*int64(len(ref.PromptIDs)) {
			t.Errorf("layer %d: %d choices, want %d", l.Layer, sum, 2*len(ref.PromptIDs))
		}
	}
}
