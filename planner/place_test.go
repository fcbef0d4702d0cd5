package planner

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// randomModel builds the header of a MoE model with irregular layers: some
// dense, expert tensors of mixed types per layer, so expert layers differ
// in size the way Q4_K_M files do.
func randomModel(t testing.TB, r *rand.Rand) *Model {
	t.Helper()
	layers := 1 + r.IntN(12)
	d := 64 * (1 + r.IntN(4))
	e := []int{2, 4, 8, 16}[r.IntN(4)]
	f := 32 * (1 + r.IntN(6))
	v := 256 + 32*r.IntN(8)
	dense := r.IntN(2)
	if dense >= layers {
		dense = 0
	}
	md := gguf.NewMetadata()
	md.Set("general.architecture", gguf.String("deepseek"))
	md.Set("deepseek.block_count", gguf.Uint32(uint32(layers)))
	md.Set("deepseek.embedding_length", gguf.Uint32(uint32(d)))
	md.Set("deepseek.attention.head_count", gguf.Uint32(4))
	md.Set("deepseek.attention.head_count_kv", gguf.Uint32(uint32(1+r.IntN(4))))
	md.Set("deepseek.expert_count", gguf.Uint32(uint32(e)))
	md.Set("deepseek.expert_used_count", gguf.Uint32(2))
	md.Set("deepseek.expert_feed_forward_length", gguf.Uint32(uint32(f)))
	ti := func(name string, typ gguf.Type, dims ...uint64) gguf.TensorInfo {
		return gguf.TensorInfo{Name: name, Type: typ, Dims: dims}
	}
	U := func(x int) uint64 { return uint64(x) }
	ts := []gguf.TensorInfo{ti("token_embd.weight", gguf.TypeF16, U(d), U(v)), ti("output.weight", gguf.TypeQ8_0, U(d), U(v))}
	types := []gguf.Type{gguf.TypeF16, gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeMXFP4, gguf.TypeQ5_0}
	for l := range layers {
		p := fmt.Sprintf("blk.%d.", l)
		ts = append(ts, ti(p+"attn_norm.weight", gguf.TypeF32, U(d)), ti(p+"attn_q.weight", gguf.TypeF16, U(d), U(d)),
			ti(p+"attn_k.weight", gguf.TypeF16, U(d), U(d)))
		if l < dense {
			ts = append(ts, ti(p+"ffn_up.weight", gguf.TypeF16, U(d), U(4*f)), ti(p+"ffn_down.weight", gguf.TypeF16, U(4*f), U(d)))
			continue
		}
		ts = append(ts, ti(p+"ffn_gate_inp.weight", gguf.TypeF32, U(d), U(e)),
			ti(p+"ffn_up_exps.weight", types[r.IntN(len(types))], U(d), U(f), U(e)),
			ti(p+"ffn_gate_exps.weight", types[r.IntN(len(types))], U(d), U(f), U(e)),
			ti(p+"ffn_down_exps.weight", types[r.IntN(len(types))], U(f), U(d), U(e)))
		if r.IntN(2) == 0 {
			ts = append(ts, ti(p+"ffn_down_exps.bias", gguf.TypeF32, U(d), U(e)))
		}
	}
	ts = append(ts, ti("output_norm.weight", gguf.TypeF32, U(d)))
	laid, align, err := gguf.Layout(md, ts)
	if err != nil {
		t.Fatal(err)
	}
	off, err := gguf.HeaderSize(md, ts)
	if err != nil {
		t.Fatal(err)
	}
	last := laid[len(laid)-1]
	h := &gguf.Header{Version: 3, Metadata: md, Tensors: laid, Alignment: align, DataOffset: off}
	return FromHeader("random.gguf", off+int64(last.Offset+last.Size()), h)
}

// gpuSet is, per tensor, which experts (or the whole tensor: index -1) are
// on the GPU.
func gpuSet(man *Manifest) map[string]map[int]bool {
	out := map[string]map[int]bool{}
	for _, p := range man.Tensors {
		if p.Device != man.Devices[0].Name {
			continue
		}
		if out[p.Name] == nil {
			out[p.Name] = map[int]bool{}
		}
		if p.Expert == nil {
			out[p.Name][-1] = true
		} else {
			out[p.Name][*p.Expert] = true
		}
	}
	return out
}

// subset reports whether every GPU-resident part of a is GPU-resident in b.
func subset(a, b map[string]map[int]bool) string {
	for name, xs := range a {
		for x := range xs {
			if b[name][x] || b[name][-1] {
				continue
			}
			return fmt.Sprintf("%s expert %d", name, x)
		}
	}
	return ""
}

// llamaCppDevices evaluates llama.cpp's placement for the manifest's flags
// the way offload.md §2–3 describes it: -ngl covering every layer puts
// everything but token_embd on the GPU; overrides (-ot items, then the
// --n-cpu-moe patterns, in command-line order) are matched with an
// unanchored search and the first match wins.
func llamaCppDevices(t *testing.T, man *Manifest, names []string) map[string]string {
	t.Helper()
	type ovr struct {
		re  *regexp.Regexp
		dev string
	}
	var ovrs []ovr
	args := man.LlamaCppArgs
	ngl := -1
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-ngl":
			ngl, _ = strconv.Atoi(args[i+1])
			i++
		case "-ot":
			for _, item := range strings.Split(args[i+1], ",") {
				re, dev, ok := strings.Cut(item, "=")
				if !ok {
					t.Fatalf("-ot item %q has no '='", item)
				}
				ovrs = append(ovrs, ovr{regexp.MustCompile(re), dev})
			}
			i++
		case "--n-cpu-moe":
			n, _ := strconv.Atoi(args[i+1])
			for l := range n {
				ovrs = append(ovrs, ovr{regexp.MustCompile(fmt.Sprintf(`blk\.%d\.ffn_(up|down|gate|gate_up)_(ch|)exps`, l)), "CPU"})
			}
			i++
		}
	}
	if ngl != man.Model.Layers+1 {
		t.Fatalf("-ngl %d, want %d (every layer and the output)", ngl, man.Model.Layers+1)
	}
	out := map[string]string{}
	for _, n := range names {
		dev := man.Devices[0].Name
		if strings.HasPrefix(n, "token_embd.") {
			dev = "CPU"
		}
		for _, o := range ovrs {
			if o.re.MatchString(n) {
				dev = o.dev
				break
			}
		}
		out[n] = dev
	}
	return out
}

// checkPlan verifies the invariants every plan must hold.
func checkPlan(t *testing.T, m *Model, man *Manifest, budget int64) {
	t.Helper()
	if err := man.Validate(); err != nil {
		t.Fatalf("invalid manifest: %v", err)
	}
	if err := man.CheckModel(m); err != nil {
		t.Fatalf("placement: %v", err)
	}
	g, _ := man.GPU()
	if g.TotalBytes > budget {
		t.Fatalf("GPU total %d exceeds budget %d", g.TotalBytes, budget)
	}
	// Experts leave the GPU before anything else: every non-expert tensor
	// but token_embd is on the GPU in every feasible plan.
	sliced := map[string]bool{}
	for _, p := range man.Tensors {
		switch {
		case p.Kind == KindEmbedding && p.Device != "CPU":
			t.Fatalf("%s on %s, want CPU", p.Name, p.Device)
		case p.Kind != KindEmbedding && p.Kind != KindExperts && p.Device != g.Name:
			t.Fatalf("non-expert %s on %s", p.Name, p.Device)
		}
		if p.Expert != nil {
			sliced[p.Name] = true
		}
	}
	// llama.cpp's flags give the same placement (or, for layers split by
	// expert, keep those layers on the CPU).
	var names []string
	for i := range m.Tensors {
		names = append(names, m.Tensors[i].Name)
	}
	ll := llamaCppDevices(t, man, names)
	mine := map[string]string{}
	for _, p := range man.Tensors {
		if p.Expert == nil {
			mine[p.Name] = p.Device
		}
	}
	for _, n := range names {
		if sliced[n] {
			layer := gguf.LayerOf(n)
			if ll[n] != "CPU" {
				t.Fatalf("%s is split by expert but llama.cpp flags put it on %s", n, ll[n])
			}
			_ = layer
			continue
		}
		if ll[n] != mine[n] {
			// A whole tensor of a layer that also has sliced tensors is on
			// the CPU for llama.cpp; that is allowed.
			if ll[n] == "CPU" && layerHasSlices(man, gguf.LayerOf(n)) {
				continue
			}
			t.Fatalf("%s: plan puts it on %s, llama.cpp flags %v on %s", n, mine[n], man.LlamaCppArgs, ll[n])
		}
	}
}

func layerHasSlices(man *Manifest, l int) bool {
	for _, p := range man.Tensors {
		if p.Expert != nil && p.Layer == l {
			return true
		}
	}
	return false
}

// TestPlanProperties runs the planner over synthetic models (tiny presets
// with 1–8 layers in three type mixes, and random irregular models) at
// contexts from 256 to 32k and a sweep of budgets, whole-layer and
// per-expert (with random profiles), and checks: the GPU total never
// exceeds the budget; every tensor is placed exactly once (slices cover a
// tensor exactly); experts leave the GPU before anything else; the
// infeasibility minimum is exact; more budget never moves anything off the
// GPU; llama.cpp's flags reproduce the placement.
func TestPlanProperties(t *testing.T) {
	type model struct {
		name string
		m    *Model
	}
	var models []model
	for _, preset := range []string{"tiny-gpt-oss", "tiny-phimoe", "tiny-deepseek-moe", "tiny-deepseek-v2-lite"} {
		for _, typ := range []string{"f16", "q8_0", "q4_k_m"} {
			for _, layers := range []int{2, 3, 8} {
				models = append(models, model{fmt.Sprintf("%s-%s-%d", preset, typ, layers), synthModel(t, preset, typ, layers)})
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 40 {
		models = append(models, model{fmt.Sprintf("random-%d", i), randomModel(t, r)})
	}
	for _, mc := range models {
		for _, ctx := range []int{256, 4096, 32768} {
			for _, perExpert := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/ctx%d/perExpert=%v", mc.name, ctx, perExpert), func(t *testing.T) {
					m := mc.m
					hp := hparams(t, m)
					var prof *Profile
					if perExpert && r.IntN(2) == 0 && hp.Experts > 0 {
						prof = &Profile{Schema: ProfileSchema}
						for l := range hp.Layers {
							if r.IntN(3) == 0 {
								continue
							}
							c := make([]int64, hp.Experts)
							for e := range c {
								c[e] = int64(r.IntN(100) * r.IntN(100))
							}
							prof.Layers = append(prof.Layers, LayerProfile{Layer: l, Counts: c})
						}
					}
					o := Options{Context: ctx, FlashAttn: true, Reserve: int64(r.IntN(4)) << 20, PerExpert: perExpert, Profile: prof}
					o.VRAM = 0
					_, err := Plan(m, o)
					var inf *InfeasibleError
					if !errors.As(err, &inf) {
						t.Fatalf("budget 0: want infeasible, got %v", err)
					}
					o.VRAM = inf.Min - 1
					if _, err := Plan(m, o); !errors.As(err, &inf) {
						t.Fatalf("budget min-1 must be infeasible: %v", err)
					}
					var total int64
					for i := range m.Tensors {
						total += int64(m.Tensors[i].Size())
					}
					top := inf.Min + total + 1
					budgets := []int64{inf.Min}
					for range 30 {
						budgets = append(budgets, inf.Min+r.Int64N(total+1))
					}
					budgets = append(budgets, top)
					slicesSort(budgets)
					var prev map[string]map[int]bool
					for _, b := range budgets {
						o.VRAM = b
						man, err := Plan(m, o)
						if err != nil {
							t.Fatalf("budget %d (min %d): %v", b, inf.Min, err)
						}
						checkPlan(t, m, man, b)
						cur := gpuSet(man)
						if prev != nil {
							if what := subset(prev, cur); what != "" {
								t.Fatalf("budget %d moved %s off the GPU", b, what)
							}
						}
						prev = cur
					}
					// With the largest budget everything but token_embd is on the GPU.
					for _, p := range gpuSetMissing(m, prev) {
						t.Fatalf("budget %d: %s not on the GPU", top, p)
					}
				})
			}
		}
	}
}

func gpuSetMissing(m *Model, set map[string]map[int]bool) []string {
	var out []string
	for i := range m.Tensors {
		n := m.Tensors[i].Name
		if KindOf(n) != KindEmbedding && !set[n][-1] {
			out = append(out, n)
		}
	}
	return out
}

func slicesSort(x []int64) {
	for i := 1; i < len(x); i++ {
		for j := i; j > 0 && x[j] < x[j-1]; j-- {
			x[j], x[j-1] = x[j-1], x[j]
		}
	}
}

// TestPerExpertFollowsProfile: with a skewed profile the hottest experts go
// to the GPU first, across layers, and the manifest holds their slices.
func TestPerExpertFollowsProfile(t *testing.T) {
	m := synthModel(t, "tiny-gpt-oss", "f16", 4)
	hp := hparams(t, m)
	prof := &Profile{Schema: ProfileSchema}
	hot := map[[2]int]bool{{0, 3}: true, {2, 5}: true, {1, 0}: true}
	for l := range hp.Layers {
		c := make([]int64, hp.Experts)
		for e := range c {
			c[e] = 1
			if hot[[2]int{l, e}] {
				c[e] = 1000
			}
		}
		prof.Layers = append(prof.Layers, LayerProfile{Layer: l, Counts: c})
	}
	o := Options{Context: 4096, FlashAttn: true, Reserve: 0, PerExpert: true, Profile: prof}
	var inf *InfeasibleError
	if _, err := Plan(m, o); !errors.As(err, &inf) {
		t.Fatal("budget 0 should be infeasible")
	}
	// Room for exactly three experts.
	var per int64
	for i := range m.Tensors {
		if x := &m.Tensors[i]; x.Layer() == 0 && IsExpert(x.Name) {
			per += int64(x.Size()) / int64(hp.Experts)
		}
	}
	o.VRAM = inf.Min + 3*per
	man, err := Plan(m, o)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, m, man, o.VRAM)
	got := map[[2]int]bool{}
	for _, p := range man.Tensors {
		if p.Expert != nil && p.Device == "CUDA0" {
			got[[2]int{p.Layer, *p.Expert}] = true
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(hot) {
		t.Errorf("experts on the GPU %v, want the hot ones %v", got, hot)
	}
	if want := 3 * (1000.0 / 1007) / 4; math.Abs(man.ExpertGPUShare-want) > 1e-12 {
		t.Errorf("expected GPU share %.6f, want %.6f", man.ExpertGPUShare, want)
	}
	for _, l := range man.Layers {
		want := 0
		for k := range hot {
			if k[0] == l.Layer {
				want++
			}
		}
		if l.ExpertsOnGPU != want {
			t.Errorf("layer %d: %d experts reported on the GPU, want %d", l.Layer, l.ExpertsOnGPU, want)
		}
	}
}

// TestLlamaCppArgsShapes checks the flag forms: --n-cpu-moe for a prefix of
// CPU layers, an -ot item for a partial layer, the cache and batch flags.
func TestLlamaCppArgsShapes(t *testing.T) {
	m := synthModel(t, "gpt-oss-20b", "f16", 0)
	o := Options{Context: 8192, UBatch: 256, CacheType: CacheQ8_0, FlashAttn: true, Reserve: -1}
	var inf *InfeasibleError
	if _, err := Plan(m, o); !errors.As(err, &inf) {
		t.Fatal(err)
	}
	// Room for two layers and the up tensor (with its bias) of the third.
	var layer, up int64
	for i := range m.Tensors {
		x := &m.Tensors[i]
		if x.Layer() == 21 && IsExpert(x.Name) {
			layer += int64(x.Size())
			if strings.Contains(x.Name, "ffn_up_exps") {
				up += int64(x.Size())
			}
		}
	}
	o.VRAM = inf.Min + 2*layer + up
	man, err := Plan(m, o)
	if err != nil {
		t.Fatal(err)
	}
	want := `-ngl 25 -ot blk\.21\.ffn_(gate|down)_exps=CPU --n-cpu-moe 21 -c 8192 -ub 256 -ctk q8_0 -ctv q8_0 -fa on`
	if got := strings.Join(man.LlamaCppArgs, " "); got != want {
		t.Errorf("args\n got %s\nwant %s", got, want)
	}
	checkPlan(t, m, man, o.VRAM)
}
