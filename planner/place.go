package planner

import (
	"fmt"
	"sort"
	"strings"
)

// Options are the inputs of a plan besides the model.
type Options struct {
	VRAM      int64 // GPU memory budget in bytes
	Context   int   // context length in tokens (0: 4096)
	UBatch    int   // physical batch (0: DefaultUBatch)
	CacheType CacheType
	FlashAttn bool
	Reserve   int64 // <0: DefaultReserve
	// PerExpert fills the VRAM left after whole layers with single experts
	// (slices of stacked tensors) ranked by Profile.
	PerExpert bool
	// CPUMoE keeps the routed experts of layers 0..CPUMoE-1 in CPU memory
	// whatever the budget leaves (llama.cpp's --n-cpu-moe; the layer count
	// or more: every expert, llama.cpp's --cpu-moe). 0: the budget decides.
	CPUMoE      int
	Profile     *Profile
	ProfilePath string
	GPUName     string // default "CUDA0"
	// Runtime is what will execute the plan: RuntimeLlamaCpp ("" too) or
	// RuntimeGguftool, whose KV cache, compute buffers and reserve differ.
	Runtime string
	// StagingExperts (gguftool runtime): experts per matrix in the staging
	// area for CPU-resident experts; 0 picks expert_count when that fits
	// the budget (every prefill batch copies each expert once per layer),
	// else expert_used_count (enough for decode), grown to the most that
	// fit when the VRAM left could not hold any expert tensor anyway.
	StagingExperts int
	// AutoUBatch (gguftool runtime): when the GPU-resident minimum does not
	// fit at UBatch, halve the batch (the runtime's prompt pass: scratch
	// and sliding-window KV cells scale with it) down to MinAutoUBatch
	// before declaring the plan infeasible. The manifest's ubatch is the
	// one chosen; the runtime evaluates prompts in passes of it.
	AutoUBatch bool
}

// MinAutoUBatch is the smallest batch AutoUBatch goes down to.
const MinAutoUBatch = 64

func (o *Options) defaults() {
	if o.Context == 0 {
		o.Context = 4096
	}
	if o.UBatch == 0 {
		o.UBatch = DefaultUBatch
	}
	if o.CacheType == "" {
		o.CacheType = CacheF16
	}
	if o.Reserve < 0 {
		o.Reserve = DefaultReserve
		if o.Runtime == RuntimeGguftool {
			o.Reserve = GguftoolReserve
		}
	}
	if o.GPUName == "" {
		o.GPUName = "CUDA0"
	}
}

// InfeasibleError says the budget cannot hold even the GPU-resident minimum:
// every non-expert tensor, the KV cache, the compute buffer and the reserve.
type InfeasibleError struct {
	Path    string
	Budget  int64
	Context int
	Min     int64          // smallest budget that works
	Weights map[Kind]int64 // non-expert weights that must be on the GPU
	KV      int64
	Compute int64
	Reserve int64
}

func (e *InfeasibleError) weights() int64 {
	var s int64
	for _, b := range e.Weights {
		s += b
	}
	return s
}

// Dominant names the largest part of the minimum and what would shrink it.
func (e *InfeasibleError) Dominant() string {
	w := e.weights()
	switch max(w, e.KV, e.Compute, e.Reserve) {
	case w:
		var big Kind
		for _, k := range []Kind{KindOutput, KindAttention, KindShared, KindOther} {
			if e.Weights[k] > e.Weights[big] {
				big = k
			}
		}
		return fmt.Sprintf("non-expert weights dominate (%s, largest: %s); a smaller context barely helps — quantize the output and attention tensors to fewer bits (gguftool quantize --dense Q8_0 from F16/BF16, --dense Q4_K from Q8_0)", FormatSize(w), big)
	case e.KV:
		return fmt.Sprintf("the KV cache dominates (%s); lower --ctx or use --cache-type q8_0", FormatSize(e.KV))
	case e.Compute:
		return fmt.Sprintf("the compute buffer dominates (%s); lower --ubatch", FormatSize(e.Compute))
	}
	return fmt.Sprintf("the reserve dominates (%s); lower --reserve if your CUDA context is smaller", FormatSize(e.Reserve))
}

// Report is the infeasibility as JSON-friendly data (plan --json prints it).
func (e *InfeasibleError) Report() map[string]any {
	w := map[string]int64{}
	for k, v := range e.Weights {
		w[string(k)] = v
	}
	return map[string]any{
		"schema": Schema, "feasible": false, "model": e.Path, "vram_bytes": e.Budget, "context": e.Context,
		"min_vram_bytes": e.Min, "weights_bytes": w, "kv_bytes": e.KV, "compute_bytes": e.Compute,
		"reserve_bytes": e.Reserve, "dominant": e.Dominant(),
	}
}

func (e *InfeasibleError) Error() string {
	return fmt.Sprintf("%s does not fit in %s of VRAM at context %d: it needs at least %s "+
		"(non-expert weights %s [%s], KV cache %s, compute %s, reserve %s); %s",
		e.Path, FormatSize(e.Budget), e.Context, FormatSize(e.Min), FormatSize(e.weights()), describeKinds(e.Weights),
		FormatSize(e.KV), FormatSize(e.Compute), FormatSize(e.Reserve), e.Dominant())
}

// expertRole is the part of an expert FFN a stacked tensor holds.
func expertRole(name string) string {
	m := expertRE.FindStringSubmatch(name)
	if m == nil {
		return ""
	}
	return m[1]
}

// roleOrder is the order in which a partial layer's tensors go to the GPU:
// up first, like llama.cpp's --fit (LAYER_FRACTION_UP), then gate, down.
var roleOrder = map[string]int{"up": 0, "gate_up": 0, "gate": 1, "down": 2}

type expertTensor struct {
	idx     int // index in Model.Tensors
	layer   int
	role    string
	size    int64
	experts int // the stacked dimension
}

// placement state per tensor
type state struct {
	whole  int8   // 0 cpu, 1 gpu, 2 sliced
	slices []bool // per expert, when sliced
}

// Plan places the model's tensors under o.VRAM.
//
// Everything that is not a routed expert goes to the GPU (token_embd stays
// in CPU memory, as llama.cpp keeps it), with the KV cache of every layer,
// the compute buffer and the reserve. What is left is filled with whole
// layers of experts from the last layer down, so that the layers whose
// experts stay on the CPU are the first ones, exactly --n-cpu-moe N; then
// the next layer's expert tensors (up, gate, down) while they fit. With
// PerExpert the space after the fixed part goes to single experts ranked by
// the profile's routing share instead (ties: later layers first), and
// layers whose experts all made it become whole tensors again.
func Plan(m *Model, o Options) (*Manifest, error) {
	o.defaults()
	if o.VRAM < 0 {
		return nil, fmt.Errorf("VRAM budget %d is negative", o.VRAM)
	}
	if o.Context < 1 || o.UBatch < 1 {
		return nil, fmt.Errorf("context %d and ubatch %d must be positive", o.Context, o.UBatch)
	}
	if o.CPUMoE < 0 {
		return nil, fmt.Errorf("experts of %d layers kept in CPU memory: want 0 or more", o.CPUMoE)
	}
	hp, err := m.ReadHParams()
	if err != nil {
		return nil, err
	}
	kv, err := hp.KVCache(o.Context, o.UBatch, o.CacheType)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Path, err)
	}
	var kvTotal int64
	for _, l := range kv {
		kvTotal += l.Bytes()
	}
	comp := hp.ComputeBuffer(o.Context, o.UBatch, o.FlashAttn)
	compTotal := comp.Total()
	var rt *GguftoolMemory
	var gguftoolNotes []string
	switch o.Runtime {
	case "", RuntimeLlamaCpp, RuntimeGguftool:
	default:
		return nil, fmt.Errorf("unknown runtime %q (want %s or %s)", o.Runtime, RuntimeLlamaCpp, RuntimeGguftool)
	}

	st := make([]state, len(m.Tensors))
	mandatory := map[Kind]int64{}
	var experts []expertTensor
	byLayer := map[int][]expertTensor{}
	for i := range m.Tensors {
		t := &m.Tensors[i]
		k := KindOf(t.Name)
		switch k {
		case KindEmbedding:
		case KindExperts:
			if len(t.Dims) < 2 || t.Dims[len(t.Dims)-1] == 0 || t.Size()%t.Dims[len(t.Dims)-1] != 0 {
				return nil, fmt.Errorf("%s: expert tensor %s has dimensions %v; want the experts stacked along the last one",
					m.Path, t.Name, t.Dims)
			}
			x := expertTensor{idx: i, layer: t.Layer(), role: expertRole(t.Name), size: int64(t.Size()),
				experts: int(t.Dims[len(t.Dims)-1])}
			if o.Runtime == RuntimeGguftool {
				x.size = roundPage(x.size) // one allocation per tensor
			}
			experts = append(experts, x)
			byLayer[x.layer] = append(byLayer[x.layer], x)
		default:
			mandatory[k] += int64(t.Size())
			st[i].whole = 1
		}
	}
	var fixedW int64
	for _, b := range mandatory {
		fixedW += b
	}
	gpuKV := kvTotal
	if o.Runtime == RuntimeGguftool {
		var notes []string
		rt, kv, gpuKV, notes = o.fitGguftool(m, hp, st, experts, fixedW)
		kvTotal = 0
		for _, l := range kv {
			kvTotal += l.Bytes()
		}
		compTotal = rt.Total()
		gguftoolNotes = notes
	}
	fixed := fixedW + gpuKV + compTotal + o.Reserve
	if fixed > o.VRAM {
		return nil, &InfeasibleError{Path: m.Path, Budget: o.VRAM, Context: o.Context, Min: fixed,
			Weights: mandatory, KV: gpuKV, Compute: compTotal, Reserve: o.Reserve}
	}
	avail := o.VRAM - fixed

	var moeLayers []int
	for l := range byLayer {
		moeLayers = append(moeLayers, l)
	}
	sort.Ints(moeLayers)
	notes := gguftoolNotes

	if !o.PerExpert {
	layers:
		for i := len(moeLayers) - 1; i >= 0; i-- {
			l := moeLayers[i]
			if l < o.CPUMoE {
				break
			}
			var lb int64
			for _, x := range byLayer[l] {
				lb += x.size
			}
			if lb <= avail {
				avail -= lb
				for _, x := range byLayer[l] {
					st[x.idx].whole = 1
				}
				continue
			}
			// Partial layer: whole roles (weight with its bias) while they fit.
			roles := map[string][]expertTensor{}
			var order []string
			for _, x := range byLayer[l] {
				if roles[x.role] == nil {
					order = append(order, x.role)
				}
				roles[x.role] = append(roles[x.role], x)
			}
			sort.SliceStable(order, func(a, b int) bool { return roleOrder[order[a]] < roleOrder[order[b]] })
			for _, r := range order {
				var rb int64
				for _, x := range roles[r] {
					rb += x.size
				}
				if rb > avail {
					break layers
				}
				avail -= rb
				for _, x := range roles[r] {
					st[x.idx].whole = 1
				}
			}
			break
		}
	} else {
		if err := o.Profile.checkIfSet(hp.Layers, hp.Experts); err != nil {
			if o.ProfilePath != "" {
				err = fmt.Errorf("%s: %w", o.ProfilePath, err)
			}
			return nil, err
		}
		if o.Profile == nil {
			notes = append(notes, "--per-expert without --profile: experts ranked by position (later layers first), as if routing were uniform")
		}
		share := o.Profile.share(hp.Layers, max(hp.Experts, 1))
		type unit struct {
			layer, expert int
			bytes         int64
			value         float64
		}
		var units []unit
		for _, l := range moeLayers {
			if l < o.CPUMoE {
				continue
			}
			e := byLayer[l][0].experts
			for _, x := range byLayer[l] {
				if x.experts != e {
					return nil, fmt.Errorf("%s: layer %d: expert tensors stack %d and %d experts", m.Path, l, e, x.experts)
				}
			}
			for ex := range e {
				var b int64
				for _, x := range byLayer[l] {
					b += x.size / int64(e)
				}
				v := 0.0
				if l < len(share) && ex < len(share[l]) {
					v = share[l][ex]
				}
				units = append(units, unit{l, ex, b, v})
			}
		}
		sort.SliceStable(units, func(a, b int) bool {
			if units[a].value != units[b].value {
				return units[a].value > units[b].value
			}
			if units[a].layer != units[b].layer {
				return units[a].layer > units[b].layer
			}
			return units[a].expert < units[b].expert
		})
		for _, x := range experts {
			st[x.idx].slices = make([]bool, x.experts)
		}
		// A prefix of the ranking, so that a larger budget never drops
		// an expert a smaller one kept.
		for _, u := range units {
			if u.bytes > avail {
				break
			}
			avail -= u.bytes
			for _, x := range byLayer[u.layer] {
				st[x.idx].slices[u.expert] = true
			}
		}
		for _, x := range experts {
			all, none := true, true
			for _, g := range st[x.idx].slices {
				all = all && g
				none = none && !g
			}
			switch {
			case all:
				st[x.idx] = state{whole: 1}
			case none:
				st[x.idx] = state{whole: 0}
			default:
				st[x.idx].whole = 2
			}
		}
	}

	man := &Manifest{
		Schema: Schema,
		Model: ModelInfo{Path: m.Path, Size: m.Size, Architecture: hp.Arch, Layers: hp.Layers,
			Experts: hp.Experts, ExpertsUsed: hp.ExpertsUsed},
		Budget: Budget{VRAMBytes: o.VRAM, Context: o.Context, UBatch: o.UBatch, CacheType: string(o.CacheType),
			FlashAttn: o.FlashAttn, ReserveBytes: o.Reserve, PerExpert: o.PerExpert, Profile: o.ProfilePath,
			CPUMoE: o.CPUMoE, Runtime: o.Runtime},
		Offsets: "file",
	}
	gpu := Device{Name: o.GPUName, Kind: KindGPU, KVBytes: gpuKV, ComputeBytes: compTotal, ReserveBytes: o.Reserve}
	cpu := Device{Name: "CPU", Kind: KindCPU, ComputeBytes: hp.HostCompute(min(o.UBatch, pad256(o.Context))), KVBytes: kvTotal - gpuKV}
	reports := make([]LayerReport, hp.Layers)
	for l := range reports {
		reports[l] = LayerReport{Layer: l, KVBytes: kv[l].Bytes(), KVCells: kv[l].Cells}
	}
	for i := range m.Tensors {
		t := &m.Tensors[i]
		base := Placement{Name: t.Name, Offset: t.FileOffset, Size: int64(t.Size()), Shard: t.Shard,
			Kind: KindOf(t.Name), Layer: t.Layer()}
		add := func(p Placement, onGPU bool) {
			if onGPU {
				p.Device, gpu.WeightsBytes = gpu.Name, gpu.WeightsBytes+p.Size
			} else {
				p.Device, cpu.WeightsBytes = cpu.Name, cpu.WeightsBytes+p.Size
			}
			if p.Kind == KindExperts && p.Layer >= 0 && p.Layer < hp.Layers {
				if onGPU {
					reports[p.Layer].GPUBytes += p.Size
				} else {
					reports[p.Layer].CPUBytes += p.Size
				}
			}
			man.Tensors = append(man.Tensors, p)
		}
		if st[i].whole != 2 {
			add(base, st[i].whole == 1)
			continue
		}
		e := len(st[i].slices)
		per := base.Size / int64(e)
		for x, g := range st[i].slices {
			p := base
			ex := x
			p.Expert, p.Offset, p.Size = &ex, base.Offset+int64(x)*per, per
			add(p, g)
		}
	}
	for _, l := range moeLayers {
		e := byLayer[l][0].experts
		n := 0
		for ex := range e {
			all := true
			for _, x := range byLayer[l] {
				s := st[x.idx]
				all = all && (s.whole == 1 || s.whole == 2 && s.slices[ex])
			}
			if all {
				n++
			}
		}
		reports[l].ExpertsOnGPU = n
	}
	if rt != nil {
		// The final placement's rounding; the staging area only if some
		// expert tensor stayed in CPU memory.
		rt.Rounding = weightRounding(m, hp, func(i int) bool { return st[i].whole == 1 })
		if !rt.KVOnHost { // the KV cache is one allocation
			rt.Rounding += roundPage(gpuKV) - gpuKV
		}
		cpuExperts := false
		for _, x := range experts {
			cpuExperts = cpuExperts || st[x.idx].whole != 1
		}
		if !cpuExperts && rt.Staging > 0 {
			rt.Staging, rt.StagingExperts, rt.HostMap = 0, 0, 0
		}
		gpu.ComputeBytes = rt.Total()
		man.Budget.StagingExperts = rt.StagingExperts
		man.Gguftool = rt
		notes = append(notes, rt.describe())
	}
	gpu.TotalBytes = gpu.WeightsBytes + gpu.KVBytes + gpu.ComputeBytes + gpu.ReserveBytes
	cpu.TotalBytes = cpu.WeightsBytes + cpu.KVBytes + cpu.ComputeBytes
	man.Devices = []Device{gpu, cpu}
	man.Layers = reports
	// Expected share of expert selections served from GPU memory, by the
	// profile (uniform without one): the quantity the placement maximizes.
	share := o.Profile.share(hp.Layers, max(hp.Experts, 1))
	var hit float64
	for _, l := range moeLayers {
		for ex := range byLayer[l][0].experts {
			all := true
			for _, x := range byLayer[l] {
				s := st[x.idx]
				all = all && (s.whole == 1 || s.whole == 2 && s.slices[ex])
			}
			if all && l < len(share) && ex < len(share[l]) {
				hit += share[l][ex]
			}
		}
	}
	if len(moeLayers) > 0 {
		man.ExpertGPUShare = hit / float64(len(moeLayers))
	}
	args, argNotes := llamaCppArgs(hp, st, byLayer, moeLayers, o)
	man.LlamaCppArgs = args
	if hp.CtxTrain > 0 && o.Context > hp.CtxTrain {
		notes = append(notes, fmt.Sprintf("context %d exceeds the model's training context %d", o.Context, hp.CtxTrain))
	}
	man.Notes = append(notes, argNotes...)
	if err := man.Validate(); err != nil {
		return nil, fmt.Errorf("internal: the plan is invalid: %w", err)
	}
	return man, nil
}

func (p *Profile) checkIfSet(layers, experts int) error {
	if p == nil {
		return nil
	}
	return p.check(layers, experts)
}

// llamaCppArgs expresses the placement as llama.cpp flags (offload.md §3):
// all layers offloaded, and the CPU-resident experts as --n-cpu-moe N when
// they are the first N layers, else as -ot regexes. Single-expert slices
// have no llama.cpp equivalent: such layers keep all experts on the CPU
// there, which needs less VRAM than the plan.
func llamaCppArgs(hp *HParams, st []state, byLayer map[int][]expertTensor, moeLayers []int, o Options) ([]string, []string) {
	args := []string{"-ngl", fmt.Sprint(hp.Layers + 1)}
	var notes []string
	var cpuLayers []int           // every expert tensor on the CPU (for llama.cpp)
	partial := map[int][]string{} // layer → roles on the CPU
	sliced := 0
	for _, l := range moeLayers {
		var cpuRoles []string
		seen := map[string]bool{}
		anyGPU := false
		for _, x := range byLayer[l] {
			s := st[x.idx]
			if s.whole == 2 {
				sliced++
			}
			if s.whole == 1 {
				anyGPU = true
			} else if !seen[x.role] {
				seen[x.role] = true
				cpuRoles = append(cpuRoles, x.role)
			}
		}
		hasSlices := false
		for _, x := range byLayer[l] {
			hasSlices = hasSlices || st[x.idx].whole == 2
		}
		switch {
		case len(cpuRoles) == 0:
		case !anyGPU || hasSlices:
			cpuLayers = append(cpuLayers, l)
		default:
			sort.Slice(cpuRoles, func(a, b int) bool { return roleOrder[cpuRoles[a]] < roleOrder[cpuRoles[b]] })
			partial[l] = cpuRoles
		}
	}
	if sliced > 0 {
		notes = append(notes, fmt.Sprintf("%d expert tensors are split by expert; llama.cpp cannot place single experts, so its flags keep those layers' experts on the CPU", sliced))
	}
	var ot []string
	// --n-cpu-moe N works when the CPU layers are exactly the MoE layers below N.
	prefix := len(cpuLayers) > 0
	if prefix {
		top := cpuLayers[len(cpuLayers)-1]
		n := 0
		for _, l := range moeLayers {
			if l <= top {
				n++
			}
		}
		prefix = n == len(cpuLayers)
	}
	var pl []int
	for l := range partial {
		pl = append(pl, l)
	}
	sort.Ints(pl)
	for _, l := range pl {
		roles := strings.Join(partial[l], "|")
		if len(partial[l]) > 1 {
			roles = "(" + roles + ")"
		}
		ot = append(ot, fmt.Sprintf(`blk\.%d\.ffn_%s_exps=CPU`, l, roles))
	}
	if len(cpuLayers) > 0 && !prefix {
		ids := make([]string, len(cpuLayers))
		for i, l := range cpuLayers {
			ids[i] = fmt.Sprint(l)
		}
		ot = append(ot, fmt.Sprintf(`blk\.(%s)\.ffn_(up|down|gate|gate_up)_(ch|)exps=CPU`, strings.Join(ids, "|")))
	}
	if len(ot) > 0 {
		args = append(args, "-ot", strings.Join(ot, ","))
	}
	if len(cpuLayers) > 0 && prefix {
		args = append(args, "--n-cpu-moe", fmt.Sprint(cpuLayers[len(cpuLayers)-1]+1))
	}
	args = append(args, "-c", fmt.Sprint(o.Context))
	if o.UBatch != DefaultUBatch {
		args = append(args, "-ub", fmt.Sprint(o.UBatch))
	}
	if o.CacheType == CacheQ8_0 {
		args = append(args, "-ctk", "q8_0", "-ctv", "q8_0")
	}
	if o.FlashAttn {
		args = append(args, "-fa", "on")
	} else {
		args = append(args, "-fa", "off")
	}
	return args, notes
}
