package gpu

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/runtime/kernels"
)

// This file is the hybrid half of the routed experts: for a layer whose
// experts live in host memory, the experts the router picked for a batch
// are split between the CPU cores (computed straight from the mapped file
// while the GPU works) and the GPU (copied into the staging area and
// multiplied there). The split minimizes max(CPU time, GPU stream time)
// under running estimates of both, measured as the run goes: decode-sized
// batches end up shared, large prompt batches stream everything to the GPU
// (an expert used by many tokens costs the CPU a full product per token but
// the GPU one copy).

// ExpertPlace says where the experts picked from host memory are computed.
type ExpertPlace int

const (
	// ExpertsAuto splits each layer's picked experts between the CPU cores
	// and the GPU stream by measured cost.
	ExpertsAuto ExpertPlace = iota
	// ExpertsCPU computes every picked expert on the CPU cores.
	ExpertsCPU
	// ExpertsGPU copies every picked expert to the GPU's staging area.
	ExpertsGPU
)

func (p ExpertPlace) String() string {
	switch p {
	case ExpertsCPU:
		return "cpu"
	case ExpertsGPU:
		return "gpu"
	}
	return "auto"
}

// ParseExpertPlace reads "auto", "cpu" or "gpu".
func ParseExpertPlace(s string) (ExpertPlace, error) {
	switch s {
	case "auto", "":
		return ExpertsAuto, nil
	case "cpu":
		return ExpertsCPU, nil
	case "gpu":
		return ExpertsGPU, nil
	}
	return 0, fmt.Errorf("experts on %q: expected auto, cpu or gpu", s)
}

// linCost models the time of one expert used by m tokens in a batch as
// first + extra·(m−1) seconds: first is dominated by reading its weights
// (host memory for the CPU, the bus for the GPU), extra by arithmetic.
type linCost struct {
	first, extra   float64
	nFirst, nExtra int // measurements behind each (0: still the prior)
	// timed: the prior was timed on this machine (measureCPUPrior), not
	// guessed; first is then good enough to read extra off a batch of
	// 1.25 tokens per expert.
	timed bool
}

// emaWeight is how much one measurement moves an estimate once it has one.
const emaWeight = 0.2

func ema(old, v float64, n int) float64 {
	if n == 0 {
		return v
	}
	return old + emaWeight*(v-old)
}

// observe folds in t seconds measured for experts experts and pairs
// (token, expert) products. A batch of one token per expert measures first;
// one with at least two tokens per expert on average measures extra given
// first, and once first is measured (or its prior timed), so does one
// with 1.25 (a short prompt's CPU share: its singles and pairs); batches
// with fewer extra tokens leave too much of the time to first's error.
func (c *linCost) observe(t float64, experts, pairs int) {
	if experts <= 0 || t <= 0 {
		return
	}
	switch {
	case pairs == experts:
		c.first = ema(c.first, t/float64(experts), c.nFirst)
		c.nFirst++
	case pairs >= 2*experts || (c.nFirst > 0 || c.timed) && 4*(pairs-experts) >= experts:
		v := max(0, (t-c.first*float64(experts))/float64(pairs-experts))
		c.extra = ema(c.extra, v, c.nExtra)
		c.nExtra++
	}
}

func (c *linCost) of(m int) float64 { return c.first + c.extra*float64(m-1) }

// costModel holds the estimates of one expert shape (layers whose experts
// have the same size and type share them).
type costModel struct {
	expertBytes int64
	cpu, gpu    linCost
	cpuPrior    linCost             // cpu before any measurement (cpu_prior.go)
	dec         map[int]*decodeWall // by distinct experts of a decode-like batch
}

// costKey identifies an expert shape.
type costKey struct {
	bytes   int64
	d, ff   int
	weights cputwin.WeightType
}

// newCostModel starts from conservative priors (2.5 GB/s of weights per
// core and ~10 GFLOP/s per core on the CPU; 25 GB/s over the bus and
// 5 TFLOP/s on the GPU), replaced by the first measurements. The
// executor replaces the CPU's at once with its own timing of this
// machine's CPU path (measureCPUPrior).
func newCostModel(expertBytes int64, d, ff int) *costModel {
	flops := float64(6 * d * ff) // gate, up, down: 2·(2·d·ff + ff·d)
	th := float64(kernels.Threads())
	return &costModel{
		expertBytes: expertBytes,
		cpu:         linCost{first: float64(expertBytes) / (2.5e9 * th), extra: flops / (10e9 * th)},
		gpu:         linCost{first: float64(expertBytes)/25e9 + 20e-6, extra: flops / 5e12},
	}
}

// split returns how many of the experts, given by their token counts in
// ascending order, the CPU should compute (the first c), and the predicted
// CPU and GPU times. It minimizes max(cpu, gpu), preferring the GPU on ties.
func (cm *costModel) split(counts []int) (c int, cpuT, gpuT float64) {
	var gpuAll float64
	for _, m := range counts {
		gpuAll += cm.gpu.of(m)
	}
	best, bestC, bestCPU, bestGPU := gpuAll, 0, 0.0, gpuAll
	cpuT, gpuT = 0, gpuAll
	for i, m := range counts {
		cpuT += cm.cpu.of(m)
		gpuT -= cm.gpu.of(m)
		if t := max(cpuT, gpuT); t < best {
			best, bestC, bestCPU, bestGPU = t, i+1, cpuT, max(gpuT, 0)
		}
	}
	return bestC, bestCPU, bestGPU
}

// uniformCounts is the token count of each picked expert for a batch of n
// tokens spread evenly over nExp experts, kk per token (ascending).
func uniformCounts(n, kk, nExp int) []int {
	pairs := n * kk
	distinct := min(nExp, pairs)
	counts := make([]int, distinct)
	for i := range counts {
		counts[i] = pairs / distinct
		if i >= distinct-pairs%distinct {
			counts[i]++
		}
	}
	return counts
}

// ExpertStats reports the hybrid expert scheduler: what ran where, and the
// measured costs the split is chosen by.
type ExpertStats struct {
	Mode string `json:"mode"` // auto, cpu or gpu (Options.ExpertsOn)
	// FixedCPUExperts is Options.CPUExperts: the CPU's fixed share per
	// layer batch instead of the measured split (0: measured).
	FixedCPUExperts int `json:"fixed_cpu_experts,omitempty"`
	// LayerBatches counts MoE layer evaluations whose experts were in host
	// memory; CPUOnly, GPUOnly and Mixed split them by where they ran.
	LayerBatches int64 `json:"layer_batches"`
	CPUOnly      int64 `json:"cpu_only_layer_batches"`
	GPUOnly      int64 `json:"gpu_only_layer_batches"`
	Mixed        int64 `json:"mixed_layer_batches"`
	// CPUExpertProducts: experts computed on the CPU (one per expert, layer
	// and batch); CPUTokenProducts: their (token, expert) pairs.
	CPUExpertProducts int64 `json:"cpu_expert_products"`
	CPUTokenProducts  int64 `json:"cpu_token_products"`
	// StreamedExperts: experts copied into the GPU's staging area (once
	// per chunk they are used in); StreamedBytes: their weights.
	StreamedExperts int64 `json:"streamed_experts"`
	StreamedBytes   int64 `json:"streamed_bytes"`
	// PrefetchedExperts: experts of a prompt batch's chunk that were
	// already staged, copied while the previous layer computed
	// (unless Options.NoPrefetch).
	PrefetchedExperts int64 `json:"prefetched_experts,omitempty"`
	GPUTokenProducts  int64 `json:"gpu_token_products"`
	// CPUSeconds: wall time of the CPU's expert work (overlapping the GPU
	// stream); GPUStreamSeconds: the GPU share, copies and products, timed
	// with events (0 where the driver does not time, as the fake one).
	CPUSeconds       float64 `json:"cpu_seconds"`
	GPUStreamSeconds float64 `json:"gpu_stream_seconds"`
	// Costs are the current estimates per expert shape.
	Costs []ExpertCosts `json:"measured_costs"`
}

// ExpertCosts are the estimates of one expert shape and the choices they
// imply.
type ExpertCosts struct {
	ExpertBytes int64 `json:"expert_bytes"` // gate, up and down of one expert
	// Milliseconds for an expert used by one token, and per further token.
	CPUMsPerExpert     float64 `json:"cpu_ms_per_expert"`
	CPUMsPerExtraToken float64 `json:"cpu_ms_per_extra_token"`
	GPUMsPerExpert     float64 `json:"gpu_ms_per_expert"`
	GPUMsPerExtraToken float64 `json:"gpu_ms_per_extra_token"`
	// Samples behind the per-expert and per-token estimates (0: prior).
	CPUSamples [2]int `json:"cpu_samples"`
	GPUSamples [2]int `json:"gpu_samples"`
	// The CPU estimates the executor started from, timed when it started
	// (cpu_prior.go).
	CPUPriorMsPerExpert     float64 `json:"cpu_prior_ms_per_expert"`
	CPUPriorMsPerExtraToken float64 `json:"cpu_prior_ms_per_extra_token"`
	// DecodeCPUExperts is how many of a single token's experts the CPU
	// takes under these estimates.
	DecodeCPUExperts int `json:"decode_cpu_experts"`
	// DecodeLayerMs[c] is the measured wall time of a decode layer with c
	// experts on the CPU (0: not measured; DecodeSamples[c] samples), and
	// DecodeChosen the count in use: the split decode actually runs with.
	DecodeLayerMs []float64 `json:"decode_layer_ms_by_cpu_experts,omitempty"`
	DecodeSamples []int     `json:"decode_layer_samples,omitempty"`
	DecodeChosen  int       `json:"decode_cpu_experts_chosen"`
	// AllGPUFromTokens is the prompt-batch threshold: from this many tokens
	// (routing spread evenly) every picked expert is streamed to the GPU;
	// 0: not up to 8192 tokens.
	AllGPUFromTokens int `json:"all_gpu_from_tokens"`
}

// hybridState is the executor's machinery for experts in host memory.
type hybridState struct {
	cs *cuda.Stream // expert uploads, overlapping the products on the compute stream
	// ready[part][m]: staging part's matrix m is copied; free[part]: the
	// products reading part are done (the next copy into it waits).
	ready [2][3]*cuda.Event
	free  [2]*cuda.Event
	parts int
	// t0 → t1: the GPU share of the last layer batch; t0 → tc: its copies.
	t0, t1, tc *cuda.Event
	timed      struct {
		cm            *costModel
		experts, pair int
		ok            bool
	}
	// Pinned host buffers: ids, router weights, masked weights and inputs
	// downloaded once per layer; slots and grouping indices uploaded per
	// chunk; the CPU's weighted sum uploaded back.
	hIDs, hW, hWm, hX, hOut, hSlots, hIdx *cuda.HostBuffer
	nCap                                  int // tokens the buffers hold
	costs                                 map[costKey]*costModel
	stats                                 ExpertStats
	batches                               int // layer batches so far (stats aside)
	// pend is the decode-like layer batch whose wall time the next
	// synchronization ends (not when that is the next token's first).
	pend struct {
		dw    *decodeWall
		c     int
		start time.Time
		ok    bool
	}
	lastMoE *moeSpec
	// Expert chunks of prompt batches (expert_chunks.go): the staging half
	// the next layer's first chunk uses, and the chunk copied ahead into it.
	nextPart int
	prefetch struct {
		ly      *moeSpec
		part    int
		experts []int32
		ok      bool
	}
	nextMoE map[*moeSpec]*moeSpec
	// forceCPU, when set (tests), gives the CPU count for d distinct experts.
	forceCPU func(d int) int
	// CPU scratch.
	xs, gb, ub, yb []float32
}

func (g *Executor) newHybrid() error {
	ctx := g.b.ctx
	h := &hybridState{costs: map[costKey]*costModel{}}
	g.hyb = h
	if os.Getenv(PrefetchEnv) == "0" {
		g.o.NoPrefetch = true
	}
	var err error
	if h.cs, err = ctx.NewStream(); err != nil {
		return err
	}
	evs := []**cuda.Event{&h.t0, &h.t1, &h.tc, &h.free[0], &h.free[1]}
	for p := range h.ready {
		for m := range h.ready[p] {
			evs = append(evs, &h.ready[p][m])
		}
	}
	for i, e := range evs {
		if *e, err = ctx.NewEvent(i < 3); err != nil {
			return err
		}
	}
	// Two staging parts let a chunk's copies overlap the previous chunk's
	// products; only worth it when the batch is chunked anyway (a staging
	// area for every expert copies each once per layer) and each part
	// still holds one token's experts.
	h.parts = 1
	if s := g.o.StagingExperts; s < g.nExp && s >= 2*g.nUsed {
		h.parts = 2
	}
	// The CPU priors of every expert shape in host memory, measured now
	// (cpu_prior.go: a few ms) rather than during the first prompt.
	for _, mo := range g.moes() {
		if !mo.allResident {
			g.costModel(mo)
		}
	}
	return nil
}

func (h *hybridState) close() {
	if h == nil {
		return
	}
	h.cs.Destroy()
	for _, e := range []*cuda.Event{h.t0, h.t1, h.tc, h.free[0], h.free[1]} {
		e.Destroy()
	}
	for p := range h.ready {
		for _, e := range h.ready[p] {
			e.Destroy()
		}
	}
	for _, b := range []*cuda.HostBuffer{h.hIDs, h.hW, h.hWm, h.hX, h.hOut, h.hSlots, h.hIdx} {
		b.Free()
	}
}

// reserve grows the pinned buffers for a batch of n tokens. Growing frees
// buffers queued copies may still read, so it waits for the stream first.
func (g *Executor) reserveHybrid(n int) error {
	h, b := g.hyb, g.b
	if n <= h.nCap {
		return nil
	}
	if err := b.s.Synchronize(); err != nil {
		return err
	}
	if err := h.cs.Synchronize(); err != nil {
		return err
	}
	np, nd := uint64(4*n*g.nUsed), uint64(4*n*g.d)
	for _, x := range []struct {
		buf **cuda.HostBuffer
		n   uint64
	}{{&h.hIDs, np}, {&h.hW, np}, {&h.hWm, np}, {&h.hX, nd}, {&h.hOut, nd}, {&h.hSlots, np}, {&h.hIdx, 5 * np}} {
		if err := b.growHost(x.buf, x.n); err != nil {
			return fmt.Errorf("pinned expert buffers for %d tokens: %w", n, err)
		}
	}
	h.nCap = n
	return nil
}

// int32s views the first n int32 of a pinned buffer.
func int32s(h *cuda.HostBuffer, n int) []int32 {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&h.Bytes()[0])), n)
}

func float32s(h *cuda.HostBuffer, n int) []float32 { return h.Float32s()[:n] }

// costModel returns the estimates of layer ly's expert shape.
func (g *Executor) costModel(ly *moeSpec) *costModel {
	var bytes int64
	for _, t := range ly.exps {
		bytes += int64(len(t.Data) / g.nExp)
	}
	k := costKey{bytes: bytes, d: g.d, ff: ly.exps[0].Rows() / g.nExp, weights: cputwin.WeightType(ly.exps[0].Info.Type)}
	cm := g.hyb.costs[k]
	if cm == nil {
		cm = newCostModel(bytes, k.d, k.ff)
		if g.o.ExpertsOn != ExpertsGPU {
			cm.cpu = measureCPUPrior(g.cpuMats(ly), g.nExp, expertRunners())
		}
		cm.cpuPrior = cm.cpu
		g.hyb.costs[k] = cm
	}
	return cm
}

// collectGPUTime folds the last layer batch's GPU share, timed by events,
// into its estimates (call after a synchronization).
func (h *hybridState) collectGPUTime() {
	if !h.timed.ok {
		return
	}
	h.timed.ok = false
	ms, err := cuda.Elapsed(h.t0, h.t1)
	if err != nil || ms <= 0 {
		return
	}
	h.stats.GPUStreamSeconds += float64(ms) / 1e3
	gpu := &h.timed.cm.gpu
	if gpu.nFirst == 0 && h.timed.pair > h.timed.experts {
		// A first batch of several tokens per expert (a prompt): seed the
		// per-expert cost with the copies' time, so the rest is the
		// products' share.
		if cms, err := cuda.Elapsed(h.t0, h.tc); err == nil && cms > 0 {
			gpu.first, gpu.nFirst = float64(cms)/1e3/float64(h.timed.experts), 1
		}
	}
	gpu.observe(float64(ms)/1e3, h.timed.experts, h.timed.pair)
}

// decodeWall holds, for decode-like layer batches of d distinct experts,
// the measured wall time of a layer (from the synchronization that brings
// the router's picks to the next layer's) for each CPU count. The cost
// model predicts from its parts and misses what is serial on the host
// (queuing the GPU's share, the goroutines' start, the bus slowed by the
// cores' reads); this is the quantity to minimize itself.
type decodeWall struct {
	ms []float64 // by CPU count: mean, then moving average, of the layer time
	n  []int
}

// decodeSamples is how many layer batches measure a CPU count before it
// is compared (one token of a 24-layer model).
const decodeSamples = 24

// Every burstEvery layer batches, burstLen of them run on a neighbour of
// the best count (alternating below and above), so that a count measured
// under other conditions (the first tokens, another load on the host) is
// measured again: on an H100 host the same count measured 0.8 ms a layer
// in one phase of a run and 1.3 in another. 24 of 512 batches cost at most
// a few percent when the neighbour is slower.
const (
	burstEvery = 512
	burstLen   = 24
)

func (cm *costModel) decodeWall(d int) *decodeWall {
	if cm.dec == nil {
		cm.dec = map[int]*decodeWall{}
	}
	w := cm.dec[d]
	if w == nil {
		w = &decodeWall{ms: make([]float64, d+1), n: make([]int, d+1)}
		cm.dec[d] = w
	}
	return w
}

// choose returns the CPU count to use: first the cost model's choice,
// all-GPU and the model's two neighbours are measured, then the fastest
// measured count is used, with bursts on the counts near it.
func (w *decodeWall) choose(model, batch int) int {
	if c, ok := w.unmeasured(model); ok {
		return c
	}
	best := w.best()
	if batch%burstEvery >= burstEvery-burstLen {
		// The bursts cycle over the counts one and two away, so that a
		// count measured slow in a noisy phase is measured again even when
		// the count between it and the best is slower still.
		var near []int
		for _, off := range [...]int{1, -1, 2, -2} {
			if c := best + off; c >= 0 && c < len(w.ms) {
				near = append(near, c)
			}
		}
		if len(near) > 0 {
			return near[(batch/burstEvery)%len(near)]
		}
	}
	return best
}

// unmeasured returns the first of the model's choice, all-GPU and the
// model's neighbours that has fewer than decodeSamples samples.
func (w *decodeWall) unmeasured(model int) (int, bool) {
	for _, c := range [...]int{model, 0, model - 1, model + 1} {
		if c >= 0 && c < len(w.n) && w.n[c] < decodeSamples {
			return c, true
		}
	}
	return 0, false
}

// current is the count decode runs with (bursts aside): the candidates
// until measured, then the best.
func (w *decodeWall) current(model int) int {
	if c, ok := w.unmeasured(model); ok {
		return c
	}
	return w.best()
}

// best is the measured count with the shortest layer time.
func (w *decodeWall) best() int {
	best := 0
	for c := range w.ms {
		if w.n[c] >= decodeSamples && (w.n[best] < decodeSamples || w.ms[c] < w.ms[best]) {
			best = c
		}
	}
	return best
}

func (w *decodeWall) observe(c int, ms float64) {
	w.n[c]++
	if w.n[c] <= decodeSamples {
		w.ms[c] += (ms - w.ms[c]) / float64(w.n[c])
	} else {
		w.ms[c] += 0.05 * (ms - w.ms[c])
	}
}

// chooseSplit decides which of the picked experts (ids: n·kk pairs) the CPU
// computes. It returns onCPU by expert id (nil: none).
func (g *Executor) chooseSplit(ly *moeSpec, cm *costModel, ids []int32) (onCPU []bool, nCPU, nGPU int) {
	h := g.hyb
	count := make([]int, g.nExp)
	var distinct []int32
	for _, e := range ids {
		if count[e] == 0 {
			distinct = append(distinct, e)
		}
		count[e]++
	}
	// The CPU takes the experts with the fewest tokens: they cost it least
	// relative to a copy. Experts already copied ahead into the staging
	// area (expert_chunks.go) go last: their copy is paid for.
	ahead := make([]bool, g.nExp)
	for _, e := range h.prefetched(ly) {
		ahead[e] = true
	}
	slices.SortFunc(distinct, func(a, b int32) int {
		return cmp.Or(cmp.Compare(b2i(ahead[a]), b2i(ahead[b])), cmp.Compare(count[a], count[b]), cmp.Compare(a, b))
	})
	var c int
	switch {
	case h.forceCPU != nil:
		c = min(max(h.forceCPU(len(distinct)), 0), len(distinct))
	case g.o.ExpertsOn == ExpertsCPU:
		c = len(distinct)
	case g.o.ExpertsOn == ExpertsGPU:
		c = 0
	case g.o.CPUExperts > 0:
		c = min(g.o.CPUExperts, len(distinct))
	default:
		counts := make([]int, len(distinct))
		for i, e := range distinct {
			counts[i] = count[e]
		}
		c, _, _ = cm.split(counts)
		if len(ids) == len(distinct) {
			// Decode-like (one token per expert): the layer's measured wall
			// time per CPU count has the last word (decodeWall).
			dw := cm.decodeWall(len(distinct))
			c = dw.choose(c, h.batches)
			h.pend.dw, h.pend.c, h.pend.ok = dw, c, true
		}
	}
	if c == 0 {
		return nil, 0, len(distinct)
	}
	onCPU = make([]bool, g.nExp)
	for _, e := range distinct[:c] {
		onCPU[e] = true
	}
	return onCPU, c, len(distinct) - c
}

// cpuExperts computes the CPU's experts for n tokens of input x (ids and
// weights: n·kk pairs) into out (n·d, overwritten) on the cores, reading
// the weights from the mapped file. It returns the experts and pairs done.
// The experts of one token run in one batch of pool jobs (singleTokens),
// those of several tokens in a second (multiTokens); their weighted sums
// are added in that order (singles, then the others, each in order of
// first use), as the former path added them.
func (g *Executor) cpuExperts(ly *moeSpec, onCPU []bool, ids []int32, w, x, out []float32, n int) (experts, pairs int) {
	h := g.hyb
	d, kk := g.d, g.nUsed
	clear(out[:n*d])
	byExpert := map[int32][]int{}
	var order []int32
	for p, e := range ids[:n*kk] {
		if !onCPU[e] {
			continue
		}
		if _, ok := byExpert[e]; !ok {
			order = append(order, e)
		}
		byExpert[e] = append(byExpert[e], p)
	}
	em := g.cpuMats(ly)
	ff := em.ff
	grow := func(s *[]float32, n int) []float32 {
		if cap(*s) < n {
			*s = make([]float32, n)
		}
		return (*s)[:n]
	}
	var singles, multis []int32
	var ms []int
	tokens := 0 // (token, expert) pairs of the multis
	for _, e := range order {
		if m := len(byExpert[e]); m == 1 {
			singles = append(singles, e)
		} else {
			multis, ms = append(multis, e), append(ms, m)
			tokens += m
		}
	}
	if len(singles) > 0 {
		gt, up, y := grow(&h.gb, len(singles)*ff), grow(&h.ub, len(singles)*ff), grow(&h.yb, len(singles)*d)
		xs := make([][]float32, len(singles))
		for i, e := range singles {
			t := byExpert[e][0] / kk
			xs[i] = x[t*d : (t+1)*d]
		}
		em.singleTokens(singles, xs, gt, up, y, expertRunners())
		for i, e := range singles {
			p := byExpert[e][0]
			t := p / kk
			kernels.AddScaled(out[t*d:(t+1)*d], y[i*d:(i+1)*d], w[p])
		}
		pairs += len(singles)
		experts += len(singles)
	}
	if len(multis) > 0 {
		xs := grow(&h.xs, tokens*d)
		gt, up, y := grow(&h.gb, tokens*ff), grow(&h.ub, tokens*ff), grow(&h.yb, tokens*d)
		o := 0
		for _, e := range multis {
			for _, p := range byExpert[e] {
				t := p / kk
				copy(xs[o*d:(o+1)*d], x[t*d:(t+1)*d])
				o++
			}
		}
		em.multiTokens(multis, ms, xs, gt, up, y, expertRunners())
		o = 0
		for _, e := range multis {
			for _, p := range byExpert[e] {
				t := p / kk
				kernels.AddScaled(out[t*d:(t+1)*d], y[o*d:(o+1)*d], w[p])
				o++
			}
		}
		experts += len(multis)
		pairs += tokens
	}
	return experts, pairs
}

// cpuExpertMats is a layer's routed experts as the CPU computes them: the
// stacked gate, up and down matrices (nExp·ff, nExp·ff and nExp·d rows of
// the mapped file), their biases (nil: none, else all experts') and the
// activation. It holds what the expert products need and nothing of the
// executor, so that benchmarks can build one from plain matrices.
type cpuExpertMats struct {
	mats         [3]kernels.Mat
	bias         [3][]float32
	d, ff        int
	glu          cputwin.GLUMode
	alpha, limit float32
}

func (g *Executor) cpuMats(ly *moeSpec) *cpuExpertMats {
	return &cpuExpertMats{
		mats:  [3]kernels.Mat{ly.exps[0].Mat(), ly.exps[1].Mat(), ly.exps[2].Mat()},
		bias:  ly.expB,
		d:     g.d,
		ff:    ly.exps[0].Rows() / g.nExp,
		glu:   g.glu,
		alpha: g.gluAlpha, limit: g.gluLimit,
	}
}

// act applies the activation in place: gate = act(gate, up).
func (em *cpuExpertMats) act(gate, up []float32) {
	if em.glu == cputwin.SwiGLUOAI {
		kernels.SwiGLUOAI(gate, gate, up, em.alpha, em.limit)
	} else {
		kernels.SwiGLU(gate, gate, up)
	}
}

// matVecRows is how many rows one kernels.MatVec call of the expert
// products takes (~64K multiply-adds, so that it runs inline on the
// calling worker). The results depend on these boundaries (the 4-row
// kernel and the 1-row kernel round differently), so jobs are made of
// whole blocks of this size, whatever their size.
func matVecRows(cols int) int { return max(1, 65536/cols) }

// cpuJobBytes is about how many weight bytes one job of singleTokens
// reads: big enough that taking a job (an atomic add shared by all cores)
// and starting its streams are small beside it, small enough that the
// cores finish together. A var: the benchmarks compare values.
var cpuJobBytes = 64 << 10

// cpuPrefetch makes each job of singleTokens request the first rows of
// its streams at once: a job's rows follow nothing this core read, so the
// hardware prefetcher has not seen them, and the 4-row kernel prefetches
// each next group of rows but not its first. A var: the benchmarks
// compare.
var cpuPrefetch = true

// prefetch requests the first 4 rows (one group of the 4-row kernel) of
// rows [r0, r1) of matrix m.
func (em *cpuExpertMats) prefetch(m, r0, r1 int) {
	mat := em.mats[m]
	kernels.Prefetch(mat.Data[r0*mat.RowBytes() : min(r1, r0+4)*mat.RowBytes()])
}

// singleTokens computes experts es used by one token each, expert i on
// input xs[i] (d floats), into y (d floats per expert), on runners
// goroutines (expertRunners); gt and up (ff per expert) are scratch.
//
// One batch of jobs on the pool's runners covers the whole layer: first,
// for each expert, blocks of gate and up rows with their biases and the
// activation (elementwise, so a job finishes its own rows of the hidden
// vector); then, for each expert, blocks of down rows with their bias. A
// down job waits (spinning) until its expert's hidden vector is complete;
// all gate/up jobs are taken before any down job, and expert 0's finish
// first, so the wait is only for the last few in flight: no barrier
// between the phases, no serial activation, no fork per phase.
func (em *cpuExpertMats) singleTokens(es []int32, xs [][]float32, gt, up, y []float32, runners int) {
	d, ff, k := em.d, em.ff, len(es)
	bg, bd := matVecRows(d), matVecRows(ff)
	nbg, nbd := (ff+bg-1)/bg, (d+bd-1)/bd
	// Blocks per job: gate/up jobs read two matrices' rows.
	sg := max(1, cpuJobBytes/(2*bg*em.mats[0].RowBytes()))
	sd := max(1, cpuJobBytes/(bd*em.mats[2].RowBytes()))
	jg, jd := (nbg+sg-1)/sg, (nbd+sd-1)/sd
	done := make([]atomic.Int32, k) // gate/up jobs finished, by expert
	cpuJobs.run(k*(jg+jd), runners, func(j int) {
		if j < k*jg {
			i, q := j/jg, j%jg
			e, x := int(es[i]), xs[i]
			lo, hi := q*sg*bg, min((q+1)*sg*bg, ff)
			em.prefetchGateUp(e, lo, hi)
			// Gate rows, then up rows: one stream at a time.
			for m, dst := range [2][]float32{gt, up} {
				for r0 := lo; r0 < hi; r0 += bg {
					r1 := min(r0+bg, hi)
					kernels.MatVec(dst[i*ff+r0:i*ff+r1], em.mats[m].RowRange(e*ff+r0, e*ff+r1), x)
				}
			}
			em.finishGateUp(gt[i*ff+lo:i*ff+hi], up[i*ff+lo:i*ff+hi], e, lo, hi)
			done[i].Add(1)
			return
		}
		j -= k * jg
		i, q := j/jd, j%jd
		waitJobs(&done[i], jg)
		e, hid := int(es[i]), gt[i*ff:(i+1)*ff]
		lo, hi := q*sd*bd, min((q+1)*sd*bd, d)
		if cpuPrefetch {
			em.prefetch(2, e*d+lo, e*d+hi)
		}
		for r0 := lo; r0 < hi; r0 += bd {
			r1 := min(r0+bd, hi)
			kernels.MatVec(y[i*d+r0:i*d+r1], em.mats[2].RowRange(e*d+r0, e*d+r1), hid)
		}
		if b := em.bias[2]; b != nil {
			kernels.Add(y[i*d+lo:i*d+hi], b[e*d+lo:e*d+hi])
		}
	})
}

// prefetchGateUp asks for the first rows of expert e's gate and up rows
// lo..hi (with cpuPrefetch).
func (em *cpuExpertMats) prefetchGateUp(e, lo, hi int) {
	if cpuPrefetch {
		em.prefetch(0, e*em.ff+lo, e*em.ff+hi)
		em.prefetch(1, e*em.ff+lo, e*em.ff+hi)
	}
}

// finishGateUp adds expert e's gate and up biases of rows lo..hi to g and
// u (one token's rows) and applies the activation into g.
func (em *cpuExpertMats) finishGateUp(g, u []float32, e, lo, hi int) {
	ff := em.ff
	if b := em.bias[0]; b != nil {
		kernels.Add(g, b[e*ff+lo:e*ff+hi])
	}
	if b := em.bias[1]; b != nil {
		kernels.Add(u, b[e*ff+lo:e*ff+hi])
	}
	em.act(g, u)
}

// waitJobs spins until done counts n finished jobs (a down job waiting for
// its expert's gate/up jobs, all of which were taken before it).
func waitJobs(done *atomic.Int32, n int) {
	var s spinner
	for done.Load() < int32(n) {
		s.spin()
	}
}

// multiRows is the row granularity of multiTokens' jobs: kernels.MatMulRows
// decodes rows in groups of up to 8 (the tiled path), and blocks starting
// at multiples of 8 give the results of a one-thread kernels.MatMul (and of
// a many-thread one whose chunks start at such multiples).
const multiRows = 8

// multiTokens computes experts es used by several tokens each: expert i on
// its ms[i] tokens, the next ms[i] rows of xs (d floats a token, experts
// one after the other), into the same rows of y (d floats); gt and up (ff
// floats a token) are scratch. runners goroutines share it (expertRunners).
//
// It is singleTokens' batch of jobs with kernels.MatMulRows in place of
// MatVec: a job is a block of one expert's rows computed for all of that
// expert's tokens, so the block is read from memory once and each row
// decoded once for every four tokens (the kernels' few-token paths); gate
// and up blocks with their biases and the activation first, then down
// blocks, each waiting (spinning) only for its own expert's gate/up jobs.
// Results equal kernels.MatMul per whole matrix (the former path) bit for
// bit on one thread, and on many wherever its chunks start at multiples
// of 8 rows; elsewhere they differ by float32 rounding (another kernel for
// a few rows).
func (em *cpuExpertMats) multiTokens(es []int32, ms []int, xs, gt, up, y []float32, runners int) {
	d, ff, k := em.d, em.ff, len(es)
	off := make([]int, k+1) // first token of each expert
	for i, m := range ms {
		off[i+1] = off[i] + m
	}
	// Rows per job: about cpuJobBytes of weights, whole groups of multiRows.
	rows := func(rowBytes, mats int) int {
		r := max(1, cpuJobBytes/(mats*rowBytes))
		return (r + multiRows - 1) / multiRows * multiRows
	}
	rg, rd := rows(em.mats[0].RowBytes(), 2), rows(em.mats[2].RowBytes(), 1)
	jg, jd := (ff+rg-1)/rg, (d+rd-1)/rd
	done := make([]atomic.Int32, k) // gate/up jobs finished, by expert
	cpuJobs.runOpen(k*(jg+jd), runners, func(j int) {
		if j < k*jg {
			i, q := j/jg, j%jg
			e, m, o := int(es[i]), ms[i], off[i]
			lo, hi := q*rg, min((q+1)*rg, ff)
			em.prefetchGateUp(e, lo, hi)
			x := xs[o*d : (o+m)*d]
			gi, ui := gt[o*ff:(o+m)*ff], up[o*ff:(o+m)*ff]
			kernels.MatMulRows(gi, em.mats[0].RowRange(e*ff, (e+1)*ff), x, m, lo, hi)
			kernels.MatMulRows(ui, em.mats[1].RowRange(e*ff, (e+1)*ff), x, m, lo, hi)
			for t := range m {
				em.finishGateUp(gi[t*ff+lo:t*ff+hi], ui[t*ff+lo:t*ff+hi], e, lo, hi)
			}
			done[i].Add(1)
			return
		}
		j -= k * jg
		i, q := j/jd, j%jd
		waitJobs(&done[i], jg)
		e, m, o := int(es[i]), ms[i], off[i]
		lo, hi := q*rd, min((q+1)*rd, d)
		if cpuPrefetch {
			em.prefetch(2, e*d+lo, e*d+hi)
		}
		yi := y[o*d : (o+m)*d]
		kernels.MatMulRows(yi, em.mats[2].RowRange(e*d, (e+1)*d), gt[o*ff:(o+m)*ff], m, lo, hi)
		if b := em.bias[2]; b != nil {
			for t := range m {
				kernels.Add(yi[t*d+lo:t*d+hi], b[e*d+lo:e*d+hi])
			}
		}
	})
}

// addRows adds bias b to each of the m rows of x.
func addRows(x, b []float32, m int) {
	w := len(b)
	for r := 0; r < m; r++ {
		kernels.Add(x[r*w:(r+1)*w], b)
	}
}

// b2i is 1 for true, 0 for false (sort keys).
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// hybridExperts runs a layer whose experts live (at least partly) in host
// memory for n tokens: one synchronization brings the router's picks, the
// weights and the inputs to pinned host memory; the GPU's share is queued
// (copies on the copy stream, products on the compute stream) and runs
// while the CPU computes its share; the CPU's weighted sum is then added.
func (g *Executor) hybridExperts(ly *moeSpec, dx, dids, dw, dh cuda.DevicePtr, n int) error {
	h, b, st := g.hyb, g.b, g.b.s
	d, kk := g.d, g.nUsed
	np := n * kk
	if err := g.reserveHybrid(n); err != nil {
		return err
	}
	ids := int32s(h.hIDs, np)
	if err := st.DownloadAsync(cuda.Int32Bytes(ids), dids); err != nil {
		return err
	}
	cpuPossible := g.o.ExpertsOn != ExpertsGPU || h.forceCPU != nil
	var w, x []float32
	if cpuPossible {
		w, x = float32s(h.hW, np), float32s(h.hX, n*d)
		if err := st.DownloadAsync(cuda.Float32Bytes(w), dw); err != nil {
			return err
		}
		if err := st.DownloadAsync(cuda.Float32Bytes(x), dx); err != nil {
			return err
		}
	}
	if err := st.Synchronize(); err != nil {
		return err
	}
	synced := time.Now()
	if h.pend.ok {
		h.pend.dw.observe(h.pend.c, float64(synced.Sub(h.pend.start))/1e6)
		h.pend.ok = false
	}
	h.collectGPUTime()
	for _, e := range ids {
		if e < 0 || int(e) >= g.nExp {
			return fmt.Errorf("router picked expert %d of %d", e, g.nExp)
		}
	}
	cm := g.costModel(ly)
	onCPU, nCPU, nGPU := g.chooseSplit(ly, cm, ids)
	if h.pend.ok {
		h.pend.start = synced
		// The interval after the last MoE layer spans the output head and
		// the caller's sampling: not a layer's time.
		h.pend.ok = ly != g.lastMoELayer()
	}
	h.stats.LayerBatches++
	h.batches++
	switch {
	case nGPU == 0:
		h.stats.CPUOnly++
	case nCPU == 0:
		h.stats.GPUOnly++
	default:
		h.stats.Mixed++
	}
	// The CPU's share starts at once, in parallel with queuing the GPU's
	// (some 30 driver calls: serial host time that would otherwise come
	// before the cores start); it leaves a core to the queuing.
	out := float32s(h.hOut, n*d)
	var cpuDone chan struct{}
	var experts, pairs int
	var el float64
	if nCPU > 0 {
		cpuDone = make(chan struct{})
		go func() {
			defer close(cpuDone)
			start := time.Now()
			experts, pairs = g.cpuExperts(ly, onCPU, ids, w, x, out, n)
			el = time.Since(start).Seconds()
		}()
	}
	if err := g.queueGPUShare(ly, cm, ids, w, onCPU, nCPU, nGPU, dx, dw, dh, n); err != nil {
		if cpuDone != nil {
			<-cpuDone // it reads the pinned buffers
		}
		return err
	}
	if nCPU == 0 {
		return nil
	}
	// This core joins the experts of several tokens (multiTokens' batch
	// is open; one-token batches are not). Decode (one token: no such
	// experts) waits parked, as decodeWall measured it.
	if n > 1 {
		cpuJobs.help(cpuDone)
	}
	<-cpuDone
	cm.cpu.observe(el, experts, pairs)
	h.stats.CPUSeconds += el
	h.stats.CPUExpertProducts += int64(experts)
	h.stats.CPUTokenProducts += int64(pairs)
	// Added after the GPU's share on the compute stream: scrY is free again.
	a := &allocator{b: b}
	dy := a.get(scrY, n*d)
	if a.err != nil {
		return a.err
	}
	if err := st.UploadAsync(dy, cuda.Float32Bytes(out)); err != nil {
		return err
	}
	return b.k.Add(st, dh, dy, dh, n*d, n*d)
}

// queueGPUShare queues the GPU's experts of a split layer batch (nothing
// when nGPU is 0), the CPU's pairs masked out of the weights.
func (g *Executor) queueGPUShare(ly *moeSpec, cm *costModel, ids []int32, w []float32, onCPU []bool, nCPU, nGPU int, dx, dw, dh cuda.DevicePtr, n int) error {
	h, st := g.hyb, g.b.s
	np := n * g.nUsed
	if nGPU > 0 {
		if nCPU > 0 {
			// The CPU's pairs weigh nothing in the GPU's sum.
			wm := float32s(h.hWm, np)
			for p, e := range ids {
				wm[p] = w[p]
				if onCPU[e] {
					wm[p] = 0
				}
			}
			if err := st.UploadAsync(dw, cuda.Float32Bytes(wm)); err != nil {
				return err
			}
		}
		if err := g.streamExperts(ly, cm, ids, onCPU, dx, dw, dh, n); err != nil {
			return err
		}
	}
	return nil
}

// lastMoELayer is the model's last MoE layer.
func (g *Executor) lastMoELayer() *moeSpec {
	if g.hyb.lastMoE == nil {
		if ms := g.moes(); len(ms) > 0 {
			g.hyb.lastMoE = ms[len(ms)-1]
		}
	}
	return g.hyb.lastMoE
}

// ExpertStats returns what the hybrid expert scheduler did since the
// executor was made (or ResetExpertStats) and its current estimates. It is
// the zero value (mode aside) when no expert lives in host memory.
func (g *Executor) ExpertStats() ExpertStats {
	g.b.mu.Lock()
	defer g.b.mu.Unlock()
	if g.hyb == nil {
		return ExpertStats{Mode: g.o.ExpertsOn.String()}
	}
	s := g.hyb.stats
	s.Mode, s.FixedCPUExperts = g.o.ExpertsOn.String(), g.o.CPUExperts
	s.Costs = nil
	for _, cm := range g.hyb.costs {
		c := ExpertCosts{
			ExpertBytes:    cm.expertBytes,
			CPUMsPerExpert: cm.cpu.first * 1e3, CPUMsPerExtraToken: cm.cpu.extra * 1e3,
			GPUMsPerExpert: cm.gpu.first * 1e3, GPUMsPerExtraToken: cm.gpu.extra * 1e3,
			CPUSamples: [2]int{cm.cpu.nFirst, cm.cpu.nExtra}, GPUSamples: [2]int{cm.gpu.nFirst, cm.gpu.nExtra},
			CPUPriorMsPerExpert: cm.cpuPrior.first * 1e3, CPUPriorMsPerExtraToken: cm.cpuPrior.extra * 1e3,
		}
		c.DecodeCPUExperts, _, _ = cm.split(uniformCounts(1, g.nUsed, g.nExp))
		c.DecodeChosen = c.DecodeCPUExperts
		if w := cm.dec[g.nUsed]; w != nil && g.o.ExpertsOn == ExpertsAuto && g.o.CPUExperts == 0 {
			c.DecodeLayerMs, c.DecodeSamples = slices.Clone(w.ms), slices.Clone(w.n)
			c.DecodeChosen = w.current(c.DecodeCPUExperts)
		}
		for n := 1; n <= 8192; n++ {
			if k, _, _ := cm.split(uniformCounts(n, g.nUsed, g.nExp)); k == 0 {
				c.AllGPUFromTokens = n
				break
			}
		}
		s.Costs = append(s.Costs, c)
	}
	slices.SortFunc(s.Costs, func(a, b ExpertCosts) int { return cmp.Compare(a.ExpertBytes, b.ExpertBytes) })
	return s
}

// ResetExpertStats zeroes the counters (the estimates stay).
func (g *Executor) ResetExpertStats() {
	g.b.mu.Lock()
	defer g.b.mu.Unlock()
	if g.hyb != nil {
		g.hyb.stats = ExpertStats{}
	}
}
