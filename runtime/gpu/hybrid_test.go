package gpu

import (
	"fmt"
	"math"
	"testing"

	"github.com/gguftool/gguftool/runtime"
)

// hybridMode is one way of splitting the host-memory experts.
type hybridMode struct {
	name     string
	o        Options
	forceCPU func(distinct int) int
	// want: which sides must have computed experts (neither: the
	// measured choice, unchecked).
	cpu, gpu bool
}

func hybridModes(mixed func(string) bool) []hybridMode {
	half := func(d int) int { return d / 2 }
	most := func(d int) int { return d - 1 }
	return []hybridMode{
		{name: "gpu", o: Options{ExpertsOn: ExpertsGPU}, gpu: true},
		{name: "gpu stage4 (two parts)", o: Options{ExpertsOn: ExpertsGPU, StagingExperts: 4}, gpu: true},
		{name: "cpu", o: Options{ExpertsOn: ExpertsCPU}, cpu: true},
		{name: "auto", o: Options{}},
		{name: "mixed half", o: Options{}, forceCPU: half, cpu: true, gpu: true},
		{name: "mixed half stage4 grouped", o: Options{StagingExperts: 4, GroupAbove: 1}, forceCPU: half, cpu: true, gpu: true},
		{name: "mixed most stage4", o: Options{StagingExperts: 4}, forceCPU: most, cpu: true, gpu: true},
		{name: "mixed half, some matrices resident", o: Options{ExpertTensorOnGPU: mixed, GroupAbove: 1}, forceCPU: half, cpu: true, gpu: true},
		{name: "fixed 1 on the CPU (Options.CPUExperts)", o: Options{CPUExperts: 1}, cpu: true, gpu: true},
	}
}

// runExecutor evaluates the prompt (all positions) and 8 greedy steps on
// the executor made with o (and forceCPU), returning its stats too.
func runExecutor(t *testing.T, cpu *runtime.Model, o Options, forceCPU func(int) int) (runResult, ExpertStats) {
	t.Helper()
	g, err := NewExecutor(cpu, newTestBackend(t), o)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.hyb != nil {
		g.hyb.forceCPU = forceCPU
	}
	s, err := g.NewSession(len(promptIDs) + 9)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	logits, err := s.Eval(promptIDs, true)
	if err != nil {
		t.Fatal(err)
	}
	r := runResult{logits: logits}
	last := logits[len(logits)-cpu.NVocab:]
	for i := 0; i < 8; i++ {
		tok := int32(argmax(last))
		r.greedy = append(r.greedy, tok)
		if last, err = s.Eval([]int32{tok}, false); err != nil {
			t.Fatal(err)
		}
		r.logits = append(r.logits, last...)
	}
	return r, g.ExpertStats()
}

// maxRelDiff is max|a−b| / max(1, max|b|).
func maxRelDiff(a, b []float32) float64 {
	var d, ref float64
	for i := range b {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
		ref = math.Max(ref, math.Abs(float64(b[i])))
	}
	if math.IsNaN(d) {
		return math.Inf(1)
	}
	return d / math.Max(1, ref)
}

// checkHybrid runs family's fixture with every expert split — all on the
// GPU stream, all on the CPU cores, the measured choice, and forced mixes
// (with small and chunked staging areas, grouped products, some matrices
// resident) — and compares every prompt position's and decode step's
// logits with the executor whose experts are all resident on the GPU
// (same GPU kernels elsewhere, so the split is all that differs) and the
// greedy tokens and argmaxes with the CPU runtime.
func checkHybrid(t *testing.T, family string, mixed func(string) bool) {
	f := convertFixture(t, family, "f32")
	cpu, err := runtime.Load(f, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := evalGreedy(t, cpu, 8)
	ref, _ := runExecutor(t, cpu, Options{ExpertsOnGPU: true}, nil)
	if fmt.Sprint(ref.greedy) != fmt.Sprint(want.greedy) {
		t.Fatalf("%s: resident executor greedy %v, CPU runtime %v", family, ref.greedy, want.greedy)
	}
	for _, md := range hybridModes(mixed) {
		got, st := runExecutor(t, cpu, md.o, md.forceCPU)
		diff := maxRelDiff(got.logits, ref.logits)
		t.Logf("%s %-36s rel|Δlogit| vs resident %.2e, greedy %v; cpu experts %d (pairs %d), streamed %d, layer batches %d (cpu-only %d, gpu-only %d, mixed %d)",
			family, md.name, diff, got.greedy, st.CPUExpertProducts, st.CPUTokenProducts, st.StreamedExperts, st.LayerBatches, st.CPUOnly, st.GPUOnly, st.Mixed)
		if diff > 1e-4 {
			t.Errorf("%s %s: logits differ from the resident executor's by %.3g (relative)", family, md.name, diff)
		}
		if fmt.Sprint(got.greedy) != fmt.Sprint(want.greedy) {
			t.Errorf("%s %s: greedy %v, CPU runtime %v", family, md.name, got.greedy, want.greedy)
		}
		vocab := cpu.NVocab
		for p := 0; p < len(promptIDs); p++ {
			if argmax(got.logits[p*vocab:(p+1)*vocab]) != argmax(want.logits[p*vocab:(p+1)*vocab]) {
				t.Errorf("%s %s: prompt position %d argmax differs from the CPU runtime's", family, md.name, p)
			}
		}
		if st.LayerBatches == 0 {
			t.Errorf("%s %s: no layer ran with host-memory experts", family, md.name)
		}
		if st.CPUOnly+st.GPUOnly+st.Mixed != st.LayerBatches {
			t.Errorf("%s %s: %d+%d+%d layer batches of %d", family, md.name, st.CPUOnly, st.GPUOnly, st.Mixed, st.LayerBatches)
		}
		if md.cpu && md.gpu && (st.Mixed == 0 || st.CPUExpertProducts == 0 || st.StreamedExperts == 0) {
			t.Errorf("%s %s: no layer batch was split", family, md.name)
		}
		if md.cpu && !md.gpu && (st.StreamedExperts != 0 || st.CPUOnly != st.LayerBatches) {
			t.Errorf("%s %s: cpu mode streamed %d experts, %d of %d layer batches cpu-only", family, md.name, st.StreamedExperts, st.CPUOnly, st.LayerBatches)
		}
		if md.gpu && !md.cpu && (st.CPUExpertProducts != 0 || st.GPUOnly != st.LayerBatches) {
			t.Errorf("%s %s: gpu mode ran %d experts on the CPU", family, md.name, st.CPUExpertProducts)
		}
	}
}

// TestHybridExpertsGPTOSS: clamped SwiGLU with expert biases on the CPU.
func TestHybridExpertsGPTOSS(t *testing.T) { checkHybrid(t, "gpt-oss", mixedPlacement(0, 1)) }

// TestHybridExpertsDeepSeek: plain SwiGLU, scaled softmax-top-k weights,
// shared experts added after the routed ones.
func TestHybridExpertsDeepSeek(t *testing.T) {
	checkHybrid(t, "deepseek-moe", mixedPlacement(1, 2))
}

// TestHybridExpertsDeepSeek2: DeepSeek's experts behind MLA.
func TestHybridExpertsDeepSeek2(t *testing.T) {
	checkHybrid(t, "deepseek-v2-lite", mixedPlacement(1, 2))
}

// TestHybridExpertsPhiMoE: sparsemixer weights from the GPU router.
func TestHybridExpertsPhiMoE(t *testing.T) { checkHybrid(t, "phimoe", mixedPlacement(0, 2)) }

// TestExpertCostSplit checks the split the estimates imply.
func TestExpertCostSplit(t *testing.T) {
	// gpt-oss-20b-like: 13.2 MB per expert, CPU 40 GB/s, bus 54 GB/s.
	cm := &costModel{expertBytes: 13_200_000}
	cm.cpu = linCost{first: 13.2e6 / 40e9, extra: 0.3e-3, nFirst: 1, nExtra: 1}
	cm.gpu = linCost{first: 13.2e6 / 54e9, extra: 5e-6, nFirst: 1, nExtra: 1}
	if c, cpuT, gpuT := cm.split([]int{1, 1, 1, 1}); c != 2 || math.Abs(cpuT-2*cm.cpu.first) > 1e-12 || math.Abs(gpuT-2*cm.gpu.first) > 1e-12 {
		t.Errorf("decode: %d experts on the CPU (%.3g s vs %.3g s), want 2", c, cpuT, gpuT)
	}
	// A prompt batch: every expert has many tokens → all streamed.
	if c, _, _ := cm.split(uniformCounts(512, 4, 32)); c != 0 {
		t.Errorf("pp512: %d experts on the CPU, want 0", c)
	}
	// A slow bus sends everything to the CPU in decode.
	slow := *cm
	slow.gpu.first = 1
	if c, _, _ := slow.split([]int{1, 1, 1, 1}); c != 4 {
		t.Errorf("slow bus: %d experts on the CPU, want 4", c)
	}
	// The CPU gets the experts with the fewest tokens first (counts sorted
	// ascending by the caller): a mixed batch gives it the singles.
	if c, _, _ := cm.split([]int{1, 1, 40, 60}); c != 2 {
		t.Errorf("mixed batch: %d experts on the CPU, want 2", c)
	}
	// The threshold is where the split first gives the CPU nothing.
	th := 0
	for n := 1; n <= 4096; n++ {
		if c, _, _ := cm.split(uniformCounts(n, 4, 32)); c == 0 {
			th = n
			break
		}
	}
	// (while the GPU's whole share takes longer than one CPU expert, the
	// CPU still helps: 440 tokens here)
	if th < 2 || th > 512 {
		t.Errorf("all-GPU threshold %d tokens, expected between decode and 512", th)
	}
	if got := uniformCounts(3, 4, 32); fmt.Sprint(got) != "[1 1 1 1 1 1 1 1 1 1 1 1]" {
		t.Errorf("uniformCounts(3, 4, 32) = %v", got)
	}
	if got := uniformCounts(10, 4, 32); len(got) != 32 || got[0] != 1 || got[31] != 2 {
		t.Errorf("uniformCounts(10, 4, 32) = %v", got)
	}
}

// TestLinCostObserve: decode-like batches measure the per-expert cost,
// batches of several tokens per expert the per-token cost.
func TestLinCostObserve(t *testing.T) {
	c := linCost{first: 1, extra: 1}
	c.observe(4e-3, 4, 4) // first replaces the prior
	if c.first != 1e-3 || c.nFirst != 1 {
		t.Fatalf("first %g (%d samples), want 1e-3", c.first, c.nFirst)
	}
	c.observe(2e-3, 4, 4)
	if want := 1e-3 + emaWeight*(0.5e-3-1e-3); math.Abs(c.first-want) > 1e-15 {
		t.Errorf("first %g, want %g", c.first, want)
	}
	f := c.first
	c.observe(f*2+10*2e-4, 2, 12) // 10 extra tokens at 0.2 ms
	if math.Abs(c.extra-2e-4) > 1e-12 || c.nExtra != 1 {
		t.Errorf("extra %g (%d samples), want 2e-4", c.extra, c.nExtra)
	}
	c.observe(1, 8, 9) // ambiguous: ignored
	c.observe(0, 4, 4) // no time: ignored
	if c.nFirst != 2 || c.nExtra != 1 {
		t.Errorf("samples %d/%d after ignored observations", c.nFirst, c.nExtra)
	}
	// Once first is measured, a short prompt's CPU share (8 experts, 10
	// pairs) measures extra too; before, it needs two tokens per expert.
	f, e := c.first, c.extra
	c.observe(8*f+2*4e-4, 8, 10)
	if want := e + emaWeight*(4e-4-e); math.Abs(c.extra-want) > 1e-12 || c.nExtra != 2 {
		t.Errorf("extra %g (%d samples), want %g", c.extra, c.nExtra, want)
	}
	p := linCost{first: 1e-3, extra: 1e-3}
	if p.observe(8e-3+2e-4, 8, 10); p.nExtra != 0 || p.extra != 1e-3 {
		t.Errorf("a 1.25-token batch on the prior first measured extra %g", p.extra)
	}
	// A prior timed on this machine (measureCPUPrior) is good enough.
	p.timed = true
	if p.observe(8e-3+2e-4, 8, 10); p.nExtra != 1 || math.Abs(p.extra-1e-4) > 1e-12 {
		t.Errorf("a 1.25-token batch on a timed prior: extra %g (%d samples), want 1e-4", p.extra, p.nExtra)
	}
}

func TestParseExpertPlace(t *testing.T) {
	for s, want := range map[string]ExpertPlace{"auto": ExpertsAuto, "cpu": ExpertsCPU, "gpu": ExpertsGPU, "": ExpertsAuto} {
		if got, err := ParseExpertPlace(s); err != nil || got != want {
			t.Errorf("%q: %v %v", s, got, err)
		}
		if s != "" && want.String() != s {
			t.Errorf("%v.String() = %q", want, want.String())
		}
	}
	if _, err := ParseExpertPlace("tpu"); err == nil {
		t.Error("tpu accepted")
	}
}

// TestDecodeWallChoice: decode measures the cost model's choice, all-GPU
// and the model's neighbours, then keeps the fastest, with bursts on its
// neighbours.
func TestDecodeWallChoice(t *testing.T) {
	w := (&costModel{}).decodeWall(4)
	layer := map[int]float64{0: 1.27, 1: 1.35, 2: 1.6, 3: 2, 4: 2.4} // ms, as measured on the H200
	batch := 0
	step := func(model int) int {
		c := w.choose(model, batch)
		w.observe(c, layer[c])
		batch++
		return c
	}
	for _, want := range []int{2, 0, 1, 3} {
		for i := 0; i < decodeSamples; i++ {
			if c := step(2); c != want {
				t.Fatalf("batch %d: %d, want %d measured (model 2, all-GPU, then its neighbours)", batch, c, want)
			}
		}
	}
	counts := map[int]int{}
	for batch < 8*burstEvery {
		counts[step(2)]++
	}
	// One burst at the end of every burstEvery batches, alternating
	// between the counts one and two above the best (0).
	bursts := 8
	if len(counts) != 3 || counts[1] != bursts/2*burstLen || counts[2] != bursts/2*burstLen || counts[0] != 8*burstEvery-4*decodeSamples-bursts*burstLen {
		t.Errorf("choices %v: want all-GPU but for %d bursts of %d on 1 and 2", counts, bursts, burstLen)
	}
	if got := w.current(2); got != 0 {
		t.Errorf("current %d, want 0", got)
	}
	// A count that became faster since it was measured (the first tokens
	// were slow) takes over once a burst measures it again.
	layer[1] = 1.0
	for range 4 * burstEvery {
		step(2)
	}
	if got := w.current(2); got != 1 {
		t.Errorf("after count 1 sped up: current %d, want 1", got)
	}
	// A count two away from the best (1) that became fastest, past a
	// slower one, is found too: the bursts reach 3 without stepping on 2.
	layer[2], layer[3] = 3, 0.5
	for range 8 * burstEvery {
		step(2)
	}
	if got := w.current(2); got != 3 {
		t.Errorf("after count 3 sped up: current %d, want 3", got)
	}
	// When the CPU share is faster, it wins.
	w2 := (&costModel{}).decodeWall(4)
	for i := 0; i < 5*decodeSamples; i++ {
		c := w2.choose(2, i)
		w2.observe(c, map[int]float64{0: 1.27, 1: 1.1, 2: 1.0, 3: 1.2}[c])
	}
	if got := w2.current(2); got != 2 {
		t.Errorf("faster CPU share: current %d, want 2", got)
	}
}
