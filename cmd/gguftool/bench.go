package main

import (
	"fmt"
	"math"
	"os"
	goruntime "runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/runtime"
	"github.com/gguftool/gguftool/runtime/kernels"
	"github.com/spf13/cobra"
)

func init() { register(newBenchCmd) }

type benchOptions struct {
	pp, tg, reps, threads int
	json, noSIMD          bool
	gpu                   gpuBenchOptions // bench_gpu.go
}

func newBenchCmd() *cobra.Command {
	o := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench MODEL",
		Short: "Measure prompt processing and generation speed on the CPU (llama-bench style)",
		Long: `bench runs llama-bench's two tests with gguftool's CPU runtime: ppN evaluates an N-token
prompt in one batch, tgN generates N tokens one at a time from an empty context. Each test
runs --reps times after one warm-up; the result is mean ± standard deviation in tokens/s.

It also measures this machine's memory read bandwidth and reports decode speed as a
fraction of the bound: weight bytes one token reads (every tensor, one embedding row, and
expert_used_count experts of each expert tensor) ÷ bandwidth.`,
		Example: `  gguftool bench model.gguf                      # pp512 and tg128, 5 reps
  gguftool bench model.gguf -p 64 -n 16 -r 3 --json > bench.json
  gguftool bench model.gguf --vram 4GiB           # the same tests on the GPU under a plan`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runBench(cmd, args[0], o) },
	}
	f := cmd.Flags()
	f.IntVarP(&o.pp, "n-prompt", "p", 512, "prompt tokens of the pp test (0 skips it)")
	f.IntVarP(&o.tg, "n-gen", "n", 128, "generated tokens of the tg test (0 skips it)")
	f.IntVarP(&o.reps, "reps", "r", 5, "repetitions of each test")
	f.IntVar(&o.threads, "threads", 0, "CPU threads (default: all cores)")
	f.BoolVar(&o.noSIMD, "no-simd", false, "use the portable Go kernels")
	f.BoolVar(&o.json, "json", false, "print the result as JSON (input of gguftool publish --bench)")
	addGPUBenchFlags(cmd, &o.gpu)
	return cmd
}

type benchRow struct {
	Test            string  `json:"test"`
	Tokens          int     `json:"tokens"`
	Reps            int     `json:"reps"`
	TokensPerS      float64 `json:"tokens_per_s"`
	SD              float64 `json:"sd"`
	BoundTokensPerS float64 `json:"bound_tokens_per_s,omitempty"`
	FractionOfBound float64 `json:"fraction_of_bound,omitempty"`
}

type benchMachine struct {
	CPU              string  `json:"cpu"`
	Threads          int     `json:"threads"`
	Kernels          string  `json:"kernels"`
	MemoryReadGBPerS float64 `json:"memory_read_gb_per_s"`
	GPU              *string `json:"gpu"`
}

type benchResult struct {
	Model             string       `json:"model"`
	Architecture      string       `json:"architecture"`
	ModelBytes        int64        `json:"model_bytes"`
	DecodeBytesPerTok int64        `json:"decode_bytes_per_token"`
	Machine           benchMachine `json:"machine"`
	Results           []benchRow   `json:"results"`
}

// benchTokens returns n deterministic token ids spread over a vocabulary
// of vocab ids (the prompts and decode inputs of every bench test).
func benchTokens(n, vocab int) []int32 {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32((i*7919 + 13) % vocab)
	}
	return ids
}

func meanSD(xs []float64) (float64, float64) {
	var m float64
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	var v float64
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	if len(xs) > 1 {
		v /= float64(len(xs) - 1)
	}
	return m, math.Sqrt(v)
}

func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				return fmt.Sprintf("%s (%d cores)", strings.TrimSpace(v), goruntime.NumCPU())
			}
		}
	}
	return fmt.Sprintf("%s/%s (%d cores)", goruntime.GOOS, goruntime.GOARCH, goruntime.NumCPU())
}

func runBench(cmd *cobra.Command, path string, o *benchOptions) error {
	if o.pp < 0 || o.tg < 0 || o.pp+o.tg == 0 {
		return usageError("-p and -n must be ≥ 0 and not both 0")
	}
	if o.reps < 1 || o.threads < 0 {
		return usageError("--reps must be ≥ 1 and --threads ≥ 0")
	}
	if o.gpu.plan != "" || o.gpu.vram != "" {
		return runBenchGPU(cmd, path, o)
	}
	if o.threads > 0 {
		kernels.SetThreads(o.threads)
	}
	// The bound is the machine's, measured with the fastest kernels even when
	// --no-simd benchmarks the portable ones.
	bw := kernels.MemoryReadBandwidth(1<<30, 5)
	if o.noSIMD {
		kernels.SetSIMD(false)
	}
	f, err := gguf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := runtime.Load(f, runtime.Options{})
	if err != nil {
		return err
	}
	res := benchResult{
		Model: path, Architecture: m.Arch, ModelBytes: f.Size(), DecodeBytesPerTok: m.DecodeBytesPerToken(),
		Machine: benchMachine{CPU: cpuName(), Threads: kernels.Threads(), Kernels: kernels.SIMD(), MemoryReadGBPerS: bw / 1e9},
	}
	if o.pp > 0 {
		prompt := benchTokens(o.pp, m.NVocab)
		var rates []float64
		for r := 0; r <= o.reps; r++ { // r == 0 warms the page cache up
			start := time.Now()
			if _, err := m.NewSession(o.pp).Eval(prompt, false); err != nil {
				return err
			}
			if r > 0 {
				rates = append(rates, float64(o.pp)/time.Since(start).Seconds())
			}
		}
		mean, sd := meanSD(rates)
		res.Results = append(res.Results, benchRow{Test: fmt.Sprintf("pp%d", o.pp), Tokens: o.pp, Reps: o.reps, TokensPerS: mean, SD: sd})
	}
	if o.tg > 0 {
		ids := benchTokens(o.tg, m.NVocab)
		var rates []float64
		for r := 0; r <= o.reps; r++ {
			s := m.NewSession(o.tg)
			start := time.Now()
			for _, id := range ids {
				if _, err := s.Eval([]int32{id}, false); err != nil {
					return err
				}
			}
			if r > 0 {
				rates = append(rates, float64(o.tg)/time.Since(start).Seconds())
			}
		}
		mean, sd := meanSD(rates)
		row := benchRow{Test: fmt.Sprintf("tg%d", o.tg), Tokens: o.tg, Reps: o.reps, TokensPerS: mean, SD: sd}
		if res.DecodeBytesPerTok > 0 {
			row.BoundTokensPerS = bw / float64(res.DecodeBytesPerTok)
			row.FractionOfBound = mean / row.BoundTokensPerS
		}
		res.Results = append(res.Results, row)
	}
	out := cmd.OutOrStdout()
	if o.json {
		return writeJSON(out, res)
	}
	fmt.Fprintf(out, "model: %s (%s, %.2f GB), %.1f MB of weights read per decoded token\n", path, m.Arch, float64(f.Size())/1e9, float64(res.DecodeBytesPerTok)/1e6)
	fmt.Fprintf(out, "cpu: %s, %d threads, kernels %s, memory read %.1f GB/s\n", res.Machine.CPU, res.Machine.Threads, res.Machine.Kernels, res.Machine.MemoryReadGBPerS)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "test\ttokens/s\tbound tokens/s\tfraction of bound")
	for _, r := range res.Results {
		bound, frac := "", ""
		if r.BoundTokensPerS > 0 {
			bound, frac = fmt.Sprintf("%.2f", r.BoundTokensPerS), fmt.Sprintf("%.0f%%", 100*r.FractionOfBound)
		}
		fmt.Fprintf(tw, "%s\t%.2f ± %.2f\t%s\t%s\n", r.Test, r.TokensPerS, r.SD, bound, frac)
	}
	return tw.Flush()
}
