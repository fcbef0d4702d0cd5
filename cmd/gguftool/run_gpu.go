package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/planner"
	"github.com/gguftool/gguftool/runtime"
	"github.com/gguftool/gguftool/runtime/gpu"
	"github.com/gguftool/gguftool/runtime/kernels"
	"github.com/gguftool/gguftool/runtime/tokenizer"
	"github.com/spf13/cobra"
)

// gpuRunOptions are the flags of `gguftool run` for GPU plans.
type gpuRunOptions struct {
	vram        string
	ubatch      int
	validate    bool
	reps        int
	cpuFallback bool
	experts     expertsFlags
}

func addGPURunFlags(cmd *cobra.Command, o *gpuRunOptions) {
	f := cmd.Flags()
	f.StringVar(&o.vram, "vram", "", "plan on the fly for this GPU memory budget (e.g. 4GiB) and run the plan (gguftool runtime model, --ctx default 4096)")
	f.IntVar(&o.ubatch, "ubatch", planner.DefaultUBatch, "prompt tokens evaluated per GPU batch (and planned for)")
	f.BoolVar(&o.validate, "validate", false, "run the same prompt on the CPU runtime too and report top-1 agreement and the largest logit difference (greedy sampling)")
	f.IntVar(&o.reps, "reps", 1, "repeat the generation this many times (fresh context each) and report mean ± sd")
	f.BoolVar(&o.cpuFallback, "cpu-fallback", false, "without a usable GPU, run a GPU plan on the CPU runtime instead of failing")
	addExpertsFlags(cmd, &o.experts)
}

// expertsFlags are --experts-on and --cpu-experts (run and bench on a GPU),
// and --n-cpu-moe/--cpu-moe for the plan --vram makes.
type expertsFlags struct {
	on     string
	cpu    int
	cpuMoE cpuMoEFlags
}

func addExpertsFlags(cmd *cobra.Command, e *expertsFlags) {
	addCPUMoEFlags(cmd, &e.cpuMoE)
	cmd.Flags().StringVar(&e.on, "experts-on", "auto", "where the experts the plan leaves in CPU memory are computed: auto (split per layer between the CPU cores and streaming to the GPU, by measured cost), cpu (all on the CPU cores) or gpu (all streamed to the GPU)")
	cmd.Flags().IntVar(&e.cpu, "cpu-experts", 0, "with --experts-on auto: fix the split instead of measuring it — the CPU cores take this many of each layer's picked experts, the GPU stream the rest")
}

// options turns the flags into executor options (a usage error if bad).
func (e *expertsFlags) options() (gpu.Options, error) {
	p, err := gpu.ParseExpertPlace(e.on)
	if err != nil {
		return gpu.Options{}, usageError("--experts-on: %v", err)
	}
	if e.cpu < 0 || e.cpu > 0 && p != gpu.ExpertsAuto {
		return gpu.Options{}, usageError("--cpu-experts must be ≥ 0 and goes with --experts-on auto")
	}
	return gpu.Options{ExpertsOn: p, CPUExperts: e.cpu}, nil
}

// gpuPlanned reports whether the run goes through the GPU path: a plan
// (file or --vram) that puts tensors on a GPU.
func gpuPlanned(man *planner.Manifest) bool {
	g, ok := man.GPU()
	if !ok {
		return false
	}
	for _, p := range man.Tensors {
		if p.Device == g.Name {
			return true
		}
	}
	return false
}

// manifestFor loads plan or makes a plan for the gguftool runtime under
// the budget vram; autoUB lets the planner lower ubatch to fit (the
// --ubatch flag was left at its default).
func manifestFor(f *gguf.File, plan, vramFlag string, ubatch, ctx int, autoUB bool, cpuMoE cpuMoEFlags) (*planner.Manifest, string, error) {
	nCPUMoE, err := cpuMoE.layers()
	if err != nil {
		return nil, "", err
	}
	if vramFlag == "" {
		if nCPUMoE > 0 {
			return nil, "", usageError("--n-cpu-moe and --cpu-moe go with --vram: the plan file %s already says where the experts live", plan)
		}
		man, err := planner.Load(plan)
		return man, plan, err
	}
	vram, err := planner.ParseSize(vramFlag)
	if err != nil {
		return nil, "", withCode(exitUsage, fmt.Errorf("--vram: %w", err))
	}
	if ctx <= 0 {
		ctx = 4096
	}
	man, err := planner.Plan(planner.FromFile(f), planner.Options{
		VRAM: vram, Context: ctx, UBatch: ubatch, Reserve: -1, Runtime: planner.RuntimeGguftool, AutoUBatch: autoUB,
		CPUMoE: nCPUMoE,
	})
	var inf *planner.InfeasibleError
	if errors.As(err, &inf) {
		return nil, "", withCode(exitInfeasible, err)
	}
	return man, "--vram " + vramFlag, err
}

// planPass sets *ubatch, the prompt tokens per GPU pass, to the plan's
// when the --ubatch flag was left at its default and the plan is for the
// gguftool runtime: its scratch and sliding-window KV cells were sized
// for that batch (the planner may have lowered it to fit the budget).
func planPass(cmd *cobra.Command, ubatch *int, man *planner.Manifest) {
	if !cmd.Flags().Changed("ubatch") && man.Budget.Runtime == planner.RuntimeGguftool && man.Budget.UBatch > 0 {
		*ubatch = man.Budget.UBatch
	}
}

// errNoGPU explains why a GPU plan cannot run here.
func errNoGPU(why error, man *planner.Manifest) error {
	g, _ := man.GPU()
	return fmt.Errorf("the plan puts %s on GPU %s, but there is no usable GPU: %v (run `gguftool devices`; --cpu-fallback runs the plan on the CPU runtime instead)",
		planner.FormatSize(g.WeightsBytes), g.Name, why)
}

// gpuEngine runs a model per manifest through the whole-model GPU executor
// (gpt-oss, deepseek, deepseek2, phimoe: every op on the GPU, experts on
// the GPU or streamed from CPU memory); an architecture without one would
// run through the CPU runtime with the GPU backend, so each matrix product
// runs where its weights live.
type gpuEngine struct {
	be   *gpu.Backend
	exec *gpu.Executor
	m    *runtime.Model // the model the GPU path runs (placed for the generic path)
	cpu  *runtime.Model // CPU-only model for --validate (loaded lazily)
	f    *gguf.File
	note string
}

// sequence is one context of either engine.
type sequence interface {
	Eval(tokens []int32, all bool) ([]float32, error)
	Close()
}

type cpuSeq struct{ *runtime.Session }

func (cpuSeq) Close() {}

func loadGPUEngine(f *gguf.File, man *planner.Manifest, be *gpu.Backend, ubatch int, eo gpu.Options) (*gpuEngine, error) {
	e := &gpuEngine{be: be, f: f}
	place, err := runtime.PlacementFromManifest(man, f)
	if err != nil {
		return nil, err
	}
	arch, _ := f.Metadata.String(gguf.KeyArchitecture)
	if !gpu.HasExecutor(arch) {
		if e.m, err = runtime.Load(f, runtime.Options{Placement: place, Backends: []runtime.Backend{be}}); err != nil {
			return nil, err
		}
		e.note = "per-matrix GPU backend (attention, norms and routing on the CPU; KV cache in CPU memory)"
		return e, nil
	}
	if e.m, err = runtime.Load(f, runtime.Options{}); err != nil {
		return nil, err
	}
	e.cpu = e.m
	g, _ := man.GPU()
	onGPU := map[string]bool{}
	sliced := 0
	for _, p := range man.Tensors {
		if !planner.IsExpert(p.Name) {
			continue
		}
		if p.Expert != nil {
			sliced++
			continue
		}
		onGPU[p.Name] = p.Device == g.Name
	}
	e.note = arch + " GPU executor (every op on the GPU; CPU-resident experts streamed from page-locked host memory)"
	if sliced > 0 {
		// The executor places whole expert tensors: single experts of a
		// per-expert plan stay in host memory (less VRAM than planned).
		e.note += fmt.Sprintf("; %d single-expert slices of the plan stay in CPU memory (the executor places whole expert tensors)", sliced)
	}
	staging := man.Budget.StagingExperts
	if man.Budget.Runtime != planner.RuntimeGguftool {
		// A llama.cpp plan leaves no room for a staging area: take the
		// smallest that decodes (expert_used_count per matrix).
		staging = man.Model.ExpertsUsed
	}
	e.exec, err = gpu.NewExecutor(e.m, be, gpu.Options{
		ExpertTensorOnGPU: func(name string) bool { return onGPU[name] },
		StagingExperts:    staging,
		ExpertsOn:         eo.ExpertsOn,
		CPUExperts:        eo.CPUExperts,
	})
	if err != nil {
		return nil, err
	}
	// Take the batch's scratch now, as the plan counts it.
	if err := e.exec.Reserve(min(ubatch, man.Budget.Context)); err != nil {
		e.exec.Close()
		return nil, err
	}
	return e, nil
}

func (e *gpuEngine) newSeq(ctx int) (sequence, error) {
	if e.exec != nil {
		return e.exec.NewSession(ctx)
	}
	return cpuSeq{e.m.NewSession(ctx)}, nil
}

func (e *gpuEngine) cpuModel() (*runtime.Model, error) {
	if e.cpu == nil {
		m, err := runtime.Load(e.f, runtime.Options{})
		if err != nil {
			return nil, err
		}
		e.cpu = m
	}
	return e.cpu, nil
}

func (e *gpuEngine) close() {
	if e.exec != nil {
		e.exec.Close()
	}
}

// evalChunked evaluates tokens in batches of ub and returns the logits of
// every position (all) or of the last one.
func evalChunked(s sequence, tokens []int32, ub int, all bool, vocab int) ([]float32, error) {
	var out []float32
	for i := 0; i < len(tokens); i += ub {
		j := min(i+ub, len(tokens))
		l, err := s.Eval(tokens[i:j], all)
		if err != nil {
			return nil, err
		}
		if all {
			out = append(out, l...)
		} else {
			out = l
		}
	}
	if !all {
		out = out[len(out)-vocab:]
	}
	return out, nil
}

// stat is a measured quantity over --reps runs.
type stat struct {
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"`
	N    int     `json:"n"`
}

func newStat(xs []float64) stat {
	if len(xs) == 0 {
		return stat{}
	}
	m, sd := meanSD(xs)
	return stat{Mean: m, SD: sd, N: len(xs)}
}

// validation compares the GPU run with the CPU runtime.
type validation struct {
	PromptPositions int `json:"prompt_positions"`
	PromptTop1Agree int `json:"prompt_top1_agree"`
	DecodeSteps     int `json:"decode_steps"`
	DecodeTop1Agree int `json:"decode_top1_agree"`
	// GreedyTokensMatch: the CPU, fed the GPU's tokens, picks the same
	// greedy token at every step (so its own greedy run is identical).
	GreedyTokensMatch bool    `json:"greedy_tokens_match"`
	FirstMismatch     int     `json:"first_mismatch"` // generated index, -1 if none
	CPUTokens         []int32 `json:"cpu_tokens"`
	MaxAbsLogitDiff   float64 `json:"max_abs_logit_diff"`
	MaxAbsLogit       float64 `json:"max_abs_logit"`
	CPUSeconds        float64 `json:"cpu_seconds"`
	// CPUKV is the CPU run's cache precision: "f16" (rounded as the GPU
	// executor's f16 cache, so both compute the same function) or "f32".
	CPUKV string `json:"cpu_kv"`
}

// gpuRunResult is the --json summary of a GPU run.
type gpuRunResult struct {
	runResult
	Device  string `json:"device"`
	Engine  string `json:"engine"`
	Plan    string `json:"plan"`
	Context int    `json:"context"`
	UBatch  int    `json:"ubatch"`
	Reps    int    `json:"reps"`

	VRAMBudgetBytes  int64 `json:"vram_budget_bytes"`
	VRAMPlannedBytes int64 `json:"vram_planned_bytes"`
	VRAMPlanned      struct {
		Weights int64 `json:"weights"`
		KV      int64 `json:"kv"`
		Compute int64 `json:"compute"`
		Reserve int64 `json:"reserve"`
	} `json:"vram_planned_parts"`
	// VRAMUsedBytes: the device's used memory (total − free, cuMemGetInfo)
	// at its peak over the samples taken after loading, after each prefill
	// and at the end of each run: the CUDA context's share included (on a
	// GPU nobody else uses, this is the process's whole VRAM).
	VRAMUsedBytes     uint64  `json:"vram_used_bytes"`
	VRAMContextBytes  uint64  `json:"vram_context_bytes"`   // total − free before any allocation of ours
	VRAMLoadedBytes   uint64  `json:"vram_loaded_bytes"`    // what loading took (weights, staging, vectors)
	VRAMWeightBytes   uint64  `json:"vram_weight_bytes"`    // uploaded weight tensors
	VRAMUsedOfPlanned float64 `json:"vram_used_of_planned"` // VRAMUsedBytes / VRAMPlannedBytes
	VRAMTotalBytes    uint64  `json:"vram_total_bytes"`
	HostRSSBytes      int64   `json:"host_rss_bytes"`
	LoadSeconds       float64 `json:"load_seconds"`

	TTFT              stat `json:"ttft_ms_stat"`
	PrefillTokensPerS stat `json:"prefill_tokens_per_s_stat"`
	DecodeTokensPerS  stat `json:"decode_tokens_per_s_stat"`
	DecodeTokens      int  `json:"decode_tokens"` // tokens timed by decode_tokens_per_s (generated − 1)

	Validation *validation `json:"validation,omitempty"`
	// Experts: where the experts in CPU memory ran (CPU cores or streamed
	// to the GPU) over all reps, and the measured costs the split uses.
	Experts *gpu.ExpertStats `json:"experts,omitempty"`
	Notes   []string         `json:"notes,omitempty"`
}

// runGPU runs a GPU plan. It returns handled=false when the plan puts
// nothing on a GPU (the CPU path runs it).
func runGPU(cmd *cobra.Command, path string, o *runOptions) (bool, error) {
	if o.gpu.reps < 1 || o.gpu.ubatch < 1 {
		return true, usageError("--reps and --ubatch must be ≥ 1")
	}
	expertsOn, err := o.gpu.experts.options()
	if err != nil {
		return true, err
	}
	f, err := gguf.Open(path)
	if err != nil {
		return true, err
	}
	defer f.Close()
	man, planName, err := manifestFor(f, o.plan, o.gpu.vram, o.gpu.ubatch, o.ctx, !cmd.Flags().Changed("ubatch"), o.gpu.experts.cpuMoE)
	if err != nil {
		return true, err
	}
	planPass(cmd, &o.gpu.ubatch, man)
	if o.logitsOut != "" || o.profileOut != "" {
		if gpuPlanned(man) {
			return true, usageError("--logits-out and --profile-out run on the CPU runtime; use --validate to compare a GPU run with it")
		}
	}
	if !gpuPlanned(man) {
		if o.gpu.validate || o.gpu.reps > 1 {
			return true, usageError("--validate and --reps compare or repeat GPU runs; %s places nothing on a GPU", planName)
		}
		return false, nil
	}
	if err := man.CheckModel(planner.FromFile(f)); err != nil {
		return true, fmt.Errorf("%s: %w", planName, err)
	}
	stderr := cmd.ErrOrStderr()
	gdev, _ := man.GPU()
	fmt.Fprintf(stderr, "plan %s: %s on GPU %s (weights %s, KV %s, compute %s, reserve %s)\n", planName,
		planner.FormatSize(gdev.TotalBytes), gdev.Name, planner.FormatSize(gdev.WeightsBytes), planner.FormatSize(gdev.KVBytes),
		planner.FormatSize(gdev.ComputeBytes), planner.FormatSize(gdev.ReserveBytes))
	if man.Budget.Runtime != planner.RuntimeGguftool {
		fmt.Fprintf(stderr, "note: the plan models llama.cpp's buffers; `gguftool plan --runtime gguftool` models this runtime's\n")
	}
	be, err := gpu.Open(0)
	if err != nil {
		if !o.gpu.cpuFallback {
			return true, errNoGPU(err, man)
		}
		fmt.Fprintf(stderr, "no usable GPU (%v): --cpu-fallback runs the plan on the CPU runtime\n", err)
		o.plan, o.gpu.vram = "", ""
		return false, nil
	}
	defer be.Close()
	setKernelFlags(o.threads, o.noSIMD)
	free0, total, err := be.MemInfo()
	if err != nil {
		return true, err
	}
	start := time.Now()
	eng, err := loadGPUEngine(f, man, be, o.gpu.ubatch, expertsOn)
	if err != nil {
		return true, err
	}
	defer eng.close()
	load := time.Since(start)
	freeLoaded, _, err := be.MemInfo()
	if err != nil {
		return true, err
	}
	peak := total - freeLoaded
	sample := func() {
		if fr, _, err := be.MemInfo(); err == nil {
			peak = max(peak, total-fr)
		}
	}
	fmt.Fprintf(stderr, "loaded on %s in %.1f s: %s (%s of weights); GPU memory in use %s\n", be.Name(), load.Seconds(), eng.note,
		planner.FormatSize(int64(be.WeightBytes())), planner.FormatSize(int64(total-freeLoaded)))

	m := eng.m
	tok, tokErr := tokenizer.FromGGUF(f.Metadata)
	if tokErr != nil {
		tok = nil
	}
	prompt, err := promptTokens(path, o, tok, tokErr, m.NVocab)
	if err != nil {
		return true, err
	}
	ctx := o.ctx
	if ctx <= 0 {
		ctx = man.Budget.Context
	}
	if ctx != man.Budget.Context && eng.exec != nil {
		fmt.Fprintf(stderr, "note: --ctx %d differs from the plan's context %d: the GPU KV cache differs from the planned %s\n",
			ctx, man.Budget.Context, planner.FormatSize(gdev.KVBytes))
	}
	if ctx < len(prompt)+o.nPredict {
		return true, usageError("the prompt (%d tokens) and -n %d do not fit the context of %d (--ctx)", len(prompt), o.nPredict, ctx)
	}
	temp := o.temp
	if o.gpu.validate {
		temp = 0 // agreement is defined for greedy decoding
	}
	out := cmd.OutOrStdout()
	var ttft, prefillRate, decodeRate []float64
	var ids []int32
	var kvBytes int64
	var promptLogits [][]float32 // logits compared by --validate: prompt rows, then each decode step
	var last struct {
		prefill, decode, ttft time.Duration
		stopped               bool
	}
	for rep := 0; rep < o.gpu.reps; rep++ {
		first := rep == 0
		s, err := eng.newSeq(ctx)
		if err != nil {
			return true, err
		}
		smp := runtime.NewSampler(temp, o.topK, o.topP, o.seed)
		stream := &textStream{w: out, tok: tok}
		if first && !o.json && tok != nil && o.tokens == "" {
			fmt.Fprint(out, o.prompt)
		}
		t0 := time.Now()
		all := first && o.gpu.validate
		logits, err := evalChunked(s, prompt, o.gpu.ubatch, all, m.NVocab)
		if err != nil {
			s.Close()
			return true, err
		}
		prefill := time.Since(t0)
		sample()
		if all {
			for p := range prompt {
				promptLogits = append(promptLogits, logits[p*m.NVocab:(p+1)*m.NVocab])
			}
			logits = logits[(len(prompt)-1)*m.NVocab:]
		}
		var gen []int32
		var firstTok time.Duration
		decStart := time.Now()
		stopped := false
		for len(gen) < o.nPredict {
			id := smp.Sample(logits)
			if len(gen) == 0 {
				firstTok = time.Since(t0)
				decStart = time.Now()
			}
			gen = append(gen, id)
			if first && !o.json {
				stream.add(id)
			}
			if tok != nil && tok.IsEOG(id) {
				stopped = true
				break
			}
			if len(gen) >= o.nPredict {
				break
			}
			if logits, err = s.Eval([]int32{id}, false); err != nil {
				s.Close()
				return true, err
			}
			if all {
				promptLogits = append(promptLogits, logits)
			}
		}
		decode := time.Since(decStart)
		sample()
		s.Close()
		if first && !o.json {
			stream.flush()
			fmt.Fprintln(out)
		}
		if first {
			switch x := s.(type) {
			case *gpu.Session:
				kvBytes = int64(x.KVBytes())
			case cpuSeq:
				kvBytes = x.KVBytes()
			}
			ids = gen
			last.prefill, last.decode, last.ttft, last.stopped = prefill, decode, firstTok, stopped
		}
		ttft = append(ttft, ms(firstTok.Seconds()))
		prefillRate = append(prefillRate, float64(len(prompt))/prefill.Seconds())
		if len(gen) > 1 {
			decodeRate = append(decodeRate, float64(len(gen)-1)/decode.Seconds())
		}
	}
	var val *validation
	if o.gpu.validate {
		fmt.Fprintf(stderr, "validating against the CPU runtime (%d prompt positions, %d generated tokens)...\n", len(prompt), len(ids))
		if val, err = validateOnCPU(eng, prompt, ids, promptLogits, ctx); err != nil {
			return true, err
		}
		fmt.Fprintf(stderr, "validation: top-1 agreement %d/%d prompt positions, %d/%d decode steps; greedy tokens match: %v; max |Δlogit| %.3g (max |logit| %.3g)\n",
			val.PromptTop1Agree, val.PromptPositions, val.DecodeTop1Agree, val.DecodeSteps, val.GreedyTokensMatch, val.MaxAbsLogitDiff, val.MaxAbsLogit)
	}
	if o.json {
		res := gpuRunResult{
			runResult: runResult{
				Model: path, Architecture: m.Arch, PromptTokens: len(prompt), GeneratedTokens: len(ids),
				PromptIDs: prompt, GeneratedIDs: ids,
				TTFTms: ms(last.ttft.Seconds()), PrefillMs: ms(last.prefill.Seconds()), DecodeMs: ms(last.decode.Seconds()),
				PeakRSSBytes: peakRSS(), KVCacheBytes: kvBytes, Threads: kernels.Threads(), Kernels: kernels.SIMD(), StoppedAtEOG: last.stopped,
			},
			Device: be.Name(), Engine: eng.note, Plan: planName, Context: ctx, UBatch: o.gpu.ubatch, Reps: o.gpu.reps,
			VRAMBudgetBytes: man.Budget.VRAMBytes, VRAMPlannedBytes: gdev.TotalBytes,
			VRAMUsedBytes: peak, VRAMContextBytes: total - free0, VRAMLoadedBytes: free0 - freeLoaded,
			VRAMWeightBytes: be.WeightBytes(), VRAMTotalBytes: total, HostRSSBytes: peakRSS(), LoadSeconds: load.Seconds(),
			TTFT: newStat(ttft), PrefillTokensPerS: newStat(prefillRate), DecodeTokensPerS: newStat(decodeRate),
			DecodeTokens: max(len(ids)-1, 0), Validation: val, Notes: man.Notes,
		}
		if eng.exec != nil {
			st := eng.exec.ExpertStats()
			res.Experts = &st
		}
		res.VRAMPlanned.Weights, res.VRAMPlanned.KV, res.VRAMPlanned.Compute, res.VRAMPlanned.Reserve = gdev.WeightsBytes, gdev.KVBytes, gdev.ComputeBytes, gdev.ReserveBytes
		if gdev.TotalBytes > 0 {
			res.VRAMUsedOfPlanned = float64(peak) / float64(gdev.TotalBytes)
		}
		if res.GeneratedIDs == nil {
			res.GeneratedIDs = []int32{}
		}
		if tok != nil {
			res.Text = tok.Decode(ids)
		}
		res.runResult.PrefillTokensPerS = prefillRate[0]
		if len(decodeRate) > 0 {
			res.runResult.DecodeTokensPerS = decodeRate[0]
		}
		if err := writeJSON(out, res); err != nil {
			return true, err
		}
	} else {
		fmt.Fprintf(stderr, "prompt %d tokens in %.1f ms (%.1f tok/s), TTFT %.1f ms, %d tokens decoded at %s tok/s; GPU memory in use at peak %s of %s planned\n",
			len(prompt), ms(last.prefill.Seconds()), prefillRate[0], ms(last.ttft.Seconds()), len(ids), fmtStat(newStat(decodeRate)),
			planner.FormatSize(int64(peak)), planner.FormatSize(gdev.TotalBytes))
		if eng.exec != nil {
			if line := expertsLine(eng.exec.ExpertStats()); line != "" {
				fmt.Fprintln(stderr, line)
			}
		}
	}
	if val != nil && !val.GreedyTokensMatch {
		return true, fmt.Errorf("validation failed: the GPU run's greedy tokens differ from the CPU runtime's at generated token %d", val.FirstMismatch)
	}
	return true, nil
}

// expertsLine summarizes where the experts in CPU memory ran ("" when
// none is there).
func expertsLine(st gpu.ExpertStats) string {
	if st.LayerBatches == 0 {
		return ""
	}
	line := fmt.Sprintf("experts in CPU memory (--experts-on %s): %d expert products on the CPU cores, %d experts streamed to the GPU (%s); layer batches cpu-only %d, gpu-only %d, split %d",
		st.Mode, st.CPUExpertProducts, st.StreamedExperts, planner.FormatSize(st.StreamedBytes), st.CPUOnly, st.GPUOnly, st.Mixed)
	for _, c := range st.Costs {
		line += fmt.Sprintf("; measured per expert: CPU %.3f ms (+%.3f ms a token), GPU stream %.3f ms (+%.4f ms a token): a token's experts split %d CPU / rest GPU, all streamed from %d-token batches",
			c.CPUMsPerExpert, c.CPUMsPerExtraToken, c.GPUMsPerExpert, c.GPUMsPerExtraToken, c.DecodeCPUExperts, c.AllGPUFromTokens)
	}
	return line
}

func fmtStat(s stat) string {
	if s.N == 0 {
		return "-"
	}
	if s.N == 1 {
		return fmt.Sprintf("%.2f", s.Mean)
	}
	return fmt.Sprintf("%.2f ± %.2f", s.Mean, s.SD)
}

// validateOnCPU runs the prompt on the CPU runtime, then feeds it the
// GPU's generated tokens one by one, comparing the logits of every prompt
// position and every decode step with the GPU's (gpuLogits, same order).
func validateOnCPU(eng *gpuEngine, prompt, gen []int32, gpuLogits [][]float32, ctx int) (*validation, error) {
	cpu, err := eng.cpuModel()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	v := &validation{PromptPositions: len(prompt), FirstMismatch: -1, CPUTokens: []int32{}, CPUKV: "f32"}
	s := cpu.NewSession(ctx)
	if eng.exec != nil { // the executor's cache is f16: compare like with like
		s.RoundKVToHalf()
		v.CPUKV = "f16"
	}
	logits, err := s.Eval(prompt, true)
	if err != nil {
		return nil, err
	}
	vocab := cpu.NVocab
	rows := make([][]float32, 0, len(gpuLogits))
	for p := range prompt {
		rows = append(rows, logits[p*vocab:(p+1)*vocab])
	}
	// The logits after the prompt pick generated token 0; step i's logits
	// (after feeding gen[i]) pick gen[i+1].
	for i := 0; i+1 < len(gen); i++ {
		l, err := s.Eval([]int32{gen[i]}, false)
		if err != nil {
			return nil, err
		}
		rows = append(rows, l)
	}
	if len(rows) != len(gpuLogits) {
		return nil, fmt.Errorf("internal: %d CPU rows for %d GPU rows", len(rows), len(gpuLogits))
	}
	for i, want := range rows {
		got := gpuLogits[i]
		for j := range want {
			v.MaxAbsLogitDiff = max(v.MaxAbsLogitDiff, abs64(float64(got[j])-float64(want[j])))
			v.MaxAbsLogit = max(v.MaxAbsLogit, abs64(float64(want[j])))
		}
		agree := argmax32(got) == argmax32(want)
		if i < len(prompt) {
			if agree {
				v.PromptTop1Agree++
			}
		} else {
			v.DecodeSteps++
			if agree {
				v.DecodeTop1Agree++
			}
		}
	}
	// Greedy: token k is the argmax of row len(prompt)-1+k.
	v.GreedyTokensMatch = true
	for k := range gen {
		c := int32(argmax32(rows[len(prompt)-1+k]))
		v.CPUTokens = append(v.CPUTokens, c)
		if c != gen[k] && v.GreedyTokensMatch {
			v.GreedyTokensMatch, v.FirstMismatch = false, k
		}
	}
	v.CPUSeconds = time.Since(start).Seconds()
	return v, nil
}

func abs64(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func argmax32(x []float32) int {
	b := 0
	for i, v := range x {
		if v > x[b] {
			b = i
		}
	}
	return b
}

// promptTokens turns -p/--tokens into ids, as the CPU path does.
func promptTokens(path string, o *runOptions, tok *tokenizer.Tokenizer, tokErr error, nVocab int) ([]int32, error) {
	var prompt []int32
	var err error
	switch {
	case o.tokens != "":
		if prompt, err = parseTokenList(o.tokens); err != nil {
			return nil, withCode(exitUsage, err)
		}
	case tokErr != nil:
		return nil, fmt.Errorf("%s: cannot tokenize the prompt: %w (use --tokens)", path, tokErr)
	case o.chat:
		text, err := renderChatPrompt(tok, o.prompt)
		if err != nil {
			return nil, fmt.Errorf("%s: --chat: %w", path, err)
		}
		prompt = tok.Encode(text, false, true)
	default:
		prompt = tok.Encode(o.prompt, true, true)
	}
	for _, id := range prompt {
		if int(id) >= nVocab {
			return nil, fmt.Errorf("prompt token %d is outside the model's vocabulary of %d", id, nVocab)
		}
	}
	if len(prompt) == 0 {
		return nil, fmt.Errorf("the prompt has no tokens")
	}
	return prompt, nil
}
