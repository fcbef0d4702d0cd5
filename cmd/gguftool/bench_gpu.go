package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/planner"
	"github.com/gguftool/gguftool/runtime/gpu"
	"github.com/gguftool/gguftool/runtime/kernels"
	"github.com/spf13/cobra"
)

// gpuBenchOptions are bench's flags for GPU plans.
type gpuBenchOptions struct {
	plan, vram  string
	ctx, ubatch int
	profile     bool
	experts     expertsFlags
}

func addGPUBenchFlags(cmd *cobra.Command, o *gpuBenchOptions) {
	f := cmd.Flags()
	f.StringVar(&o.plan, "plan", "", "run the tests on the GPU per this placement manifest")
	f.StringVar(&o.vram, "vram", "", "plan for this GPU memory budget (gguftool runtime) and run the tests on the GPU")
	f.IntVar(&o.ctx, "ctx", 0, "context the plan is made for and each test's cache holds (default: the plan's, or 4096)")
	f.IntVar(&o.ubatch, "ubatch", planner.DefaultUBatch, "prompt tokens per GPU batch")
	f.BoolVar(&o.profile, "profile", false, "after the tests, run each once more timing every kernel on the GPU, and print the time per kernel")
	addExpertsFlags(cmd, &o.experts)
}

// gpuBenchResult is bench's result on a GPU plan.
type gpuBenchResult struct {
	benchResult
	Plan             string `json:"plan"`
	Engine           string `json:"engine"`
	Context          int    `json:"context"`
	VRAMPlannedBytes int64  `json:"vram_planned_bytes"`
	// VRAMUsedBytes is the device's peak used memory (cuMemGetInfo) over
	// the tests, the CUDA context included.
	VRAMUsedBytes uint64 `json:"vram_used_bytes"`
	HostRSSBytes  int64  `json:"host_rss_bytes"`
	// Profile (with --profile): GPU time per kernel of one more pass of each test.
	Profile []gpuProfile `json:"profile,omitempty"`
	// Experts, per test (warm-up included): where the experts in CPU
	// memory ran and the measured costs the split uses.
	Experts map[string]gpu.ExpertStats `json:"experts,omitempty"`
}

// runBenchGPU runs ppN and tgN on the GPU per plan, as runBench does on the
// CPU (one warm-up, then --reps timed runs, fresh context each).
func runBenchGPU(cmd *cobra.Command, path string, o *benchOptions) error {
	g := &o.gpu
	if g.plan != "" && g.vram != "" {
		return usageError("give --plan or --vram, not both")
	}
	if g.ubatch < 1 || g.ctx < 0 {
		return usageError("--ubatch must be ≥ 1 and --ctx ≥ 0")
	}
	expertsOn, err := g.experts.options()
	if err != nil {
		return err
	}
	setKernelFlags(o.threads, o.noSIMD)
	f, err := gguf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	man, planName, err := manifestFor(f, g.plan, g.vram, g.ubatch, g.ctx, !cmd.Flags().Changed("ubatch"), g.experts.cpuMoE)
	if err != nil {
		return err
	}
	planPass(cmd, &g.ubatch, man)
	if !gpuPlanned(man) {
		return usageError("%s places nothing on a GPU: run bench without --plan for the CPU", planName)
	}
	be, err := gpu.Open(0)
	if err != nil {
		return errNoGPU(err, man)
	}
	defer be.Close()
	eng, err := loadGPUEngine(f, man, be, g.ubatch, expertsOn)
	if err != nil {
		return err
	}
	defer eng.close()
	_, total, err := be.MemInfo()
	if err != nil {
		return err
	}
	var peak uint64
	sample := func() {
		if fr, _, err := be.MemInfo(); err == nil {
			peak = max(peak, total-fr)
		}
	}
	sample()
	ctx := g.ctx
	if ctx == 0 {
		ctx = man.Budget.Context
	}
	if ctx < max(o.pp, o.tg) {
		return usageError("the context %d is smaller than the tests (-p %d, -n %d)", ctx, o.pp, o.tg)
	}
	m := eng.m
	name := be.Name()
	gd, _ := man.GPU()
	res := gpuBenchResult{
		benchResult: benchResult{
			Model: path, Architecture: m.Arch, ModelBytes: f.Size(), DecodeBytesPerTok: m.DecodeBytesPerToken(),
			Machine: benchMachine{CPU: cpuName(), Threads: kernels.Threads(), Kernels: kernels.SIMD(), GPU: &name},
		},
		Plan: planName, Engine: eng.note, Context: ctx, VRAMPlannedBytes: gd.TotalBytes,
	}
	// Each test's expert statistics, counted from its warm-up on.
	startTest := func() {
		if eng.exec != nil {
			eng.exec.ResetExpertStats()
		}
	}
	endTest := func(name string) {
		if eng.exec == nil {
			return
		}
		if st := eng.exec.ExpertStats(); st.LayerBatches > 0 {
			if res.Experts == nil {
				res.Experts = map[string]gpu.ExpertStats{}
			}
			res.Experts[name] = st
		}
	}
	if o.pp > 0 {
		prompt := benchTokens(o.pp, m.NVocab)
		var rates []float64
		startTest()
		for r := 0; r <= o.reps; r++ { // r == 0 warms up
			s, err := eng.newSeq(ctx)
			if err != nil {
				return err
			}
			start := time.Now()
			_, err = evalChunked(s, prompt, g.ubatch, false, m.NVocab)
			el := time.Since(start)
			sample()
			s.Close()
			if err != nil {
				return err
			}
			if r > 0 {
				rates = append(rates, float64(o.pp)/el.Seconds())
			}
		}
		mean, sd := meanSD(rates)
		res.Results = append(res.Results, benchRow{Test: fmt.Sprintf("pp%d", o.pp), Tokens: o.pp, Reps: o.reps, TokensPerS: mean, SD: sd})
		endTest(fmt.Sprintf("pp%d", o.pp))
	}
	if o.tg > 0 {
		ids := benchTokens(o.tg, m.NVocab)
		var rates []float64
		startTest()
		for r := 0; r <= o.reps; r++ {
			s, err := eng.newSeq(ctx)
			if err != nil {
				return err
			}
			start := time.Now()
			for _, id := range ids {
				if _, err = s.Eval([]int32{id}, false); err != nil {
					break
				}
			}
			el := time.Since(start)
			sample()
			s.Close()
			if err != nil {
				return err
			}
			if r > 0 {
				rates = append(rates, float64(o.tg)/el.Seconds())
			}
		}
		mean, sd := meanSD(rates)
		res.Results = append(res.Results, benchRow{Test: fmt.Sprintf("tg%d", o.tg), Tokens: o.tg, Reps: o.reps, TokensPerS: mean, SD: sd})
		endTest(fmt.Sprintf("tg%d", o.tg))
	}
	res.VRAMUsedBytes, res.HostRSSBytes = peak, peakRSS()
	if g.profile {
		if res.Profile, err = profileGPU(be, eng, ctx, o.pp, o.tg, g.ubatch, m.NVocab); err != nil {
			return err
		}
	}
	out := cmd.OutOrStdout()
	if o.json {
		return writeJSON(out, res)
	}
	fmt.Fprintf(out, "model: %s (%s, %.2f GB)\n", path, m.Arch, float64(f.Size())/1e9)
	fmt.Fprintf(out, "gpu: %s, plan %s: %s planned, %s in use at peak (context included); %s\n", name, planName,
		planner.FormatSize(gd.TotalBytes), planner.FormatSize(int64(peak)), eng.note)
	fmt.Fprintf(out, "cpu: %s, %d threads, kernels %s\n", res.Machine.CPU, res.Machine.Threads, res.Machine.Kernels)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "test\ttokens/s")
	for _, r := range res.Results {
		fmt.Fprintf(tw, "%s\t%.2f ± %.2f\n", r.Test, r.TokensPerS, r.SD)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range res.Results {
		if st, ok := res.Experts[r.Test]; ok {
			fmt.Fprintf(out, "%s: %s\n", r.Test, expertsLine(st))
		}
	}
	writeGPUProfiles(out, res.Profile)
	return nil
}
