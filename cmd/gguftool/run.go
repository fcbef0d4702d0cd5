package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/internal/atomicfile"
	"github.com/gguftool/gguftool/planner"
	"github.com/gguftool/gguftool/runtime"
	"github.com/gguftool/gguftool/runtime/kernels"
	"github.com/gguftool/gguftool/runtime/npy"
	"github.com/gguftool/gguftool/runtime/tokenizer"
	"github.com/spf13/cobra"
)

func init() { register(newRunCmd) }

// maxContext bounds --ctx: the KV cache is allocated for the whole context
// up front, and no supported model is trained beyond 163,840 tokens.
const maxContext = 1 << 22

// runOptions are the flags of `gguftool run`.
type runOptions struct {
	prompt     string
	nPredict   int
	chat       bool
	temp       float64
	topK       int
	topP       float64
	seed       uint64
	tokens     string
	logitsOut  string
	force      bool
	json       bool
	ctx        int
	threads    int
	noSIMD     bool
	plan       string
	profileOut string
	gpu        gpuRunOptions // run_gpu.go
}

func newRunCmd() *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run MODEL -p TEXT",
		Short: "Generate text with a GGUF model on the CPU, or on a GPU per a placement plan",
		Long: `Run a gpt-oss, phimoe, deepseek or deepseek2 GGUF model with gguftool's own runtime
(transformers semantics, see docs/runtime.md) and stream the generated text to stdout.

--tokens 1,2,3 takes prompt token ids instead of text. --logits-out FILE.npy writes the
float32 logits of every prompt position as a NumPy array [n_prompt, n_vocab]. --temp 0 is
greedy. --json prints one object at the end with exact token counts and measured timings.

--plan PLAN.json (from gguftool plan --runtime gguftool) or --vram SIZE runs the plan on GPU 0
(docs/cuda.md): --validate also runs the prompt on the CPU runtime and reports top-1 agreement
and the largest logit difference, --reps N repeats the run (mean ± sd); --json adds planned and
measured VRAM. Without a GPU such a run exits 1 saying why, or runs on the CPU with --cpu-fallback.`,
		Example: `  gguftool run model.gguf -p "Why is the sky blue?" --chat -n 128
  gguftool run model.gguf --tokens 36,87,581 --temp 0 -n 12 --logits-out logits.npy
  gguftool run model.gguf --vram 4GiB --ctx 4096 -p "Hello" --validate --json
  gguftool run model.gguf --plan plan.json -p "Hello" --reps 5 --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runRun(cmd, args[0], o) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.prompt, "prompt", "p", "", "prompt text")
	f.IntVarP(&o.nPredict, "n-predict", "n", 64, "number of tokens to generate")
	f.BoolVar(&o.chat, "chat", false, "wrap the prompt in the model's chat template as a user message")
	f.Float64Var(&o.temp, "temp", 0.8, "sampling temperature (0 = greedy)")
	f.IntVar(&o.topK, "top-k", 40, "keep the K most likely tokens (0 = all)")
	f.Float64Var(&o.topP, "top-p", 0.95, "keep the smallest set of tokens whose probability reaches P (1 = all)")
	f.Uint64Var(&o.seed, "seed", 0, "random seed for sampling")
	f.StringVar(&o.tokens, "tokens", "", "comma-separated prompt token ids instead of -p")
	f.StringVar(&o.logitsOut, "logits-out", "", "write the prompt positions' logits to this .npy file")
	f.BoolVar(&o.force, "force", false, "overwrite an existing --logits-out file")
	f.BoolVar(&o.json, "json", false, "print a JSON summary instead of streaming text")
	f.IntVar(&o.ctx, "ctx", 0, "context size (default: prompt + n-predict)")
	f.IntVar(&o.threads, "threads", 0, "CPU threads for the kernels (default: all cores)")
	f.BoolVar(&o.noSIMD, "no-simd", false, "use the portable Go kernels instead of SIMD")
	f.StringVar(&o.plan, "plan", "", "placement manifest from `gguftool plan` (weights on each device)")
	f.StringVar(&o.profileOut, "profile-out", "", "write the expert routing counts as a usage profile for `gguftool plan --profile`")
	addGPURunFlags(cmd, &o.gpu)
	return cmd
}

// runResult is the --json summary.
type runResult struct {
	Model             string  `json:"model"`
	Architecture      string  `json:"architecture"`
	PromptTokens      int     `json:"prompt_tokens"`
	GeneratedTokens   int     `json:"generated_tokens"`
	PromptIDs         []int32 `json:"prompt_ids"`
	GeneratedIDs      []int32 `json:"generated_ids"`
	Text              string  `json:"text,omitempty"`
	TTFTms            float64 `json:"ttft_ms"`
	PrefillMs         float64 `json:"prefill_ms"`
	DecodeMs          float64 `json:"decode_ms"`
	PrefillTokensPerS float64 `json:"prefill_tokens_per_s"`
	DecodeTokensPerS  float64 `json:"decode_tokens_per_s"`
	PeakRSSBytes      int64   `json:"peak_rss_bytes"`
	KVCacheBytes      int64   `json:"kv_cache_bytes"`
	Threads           int     `json:"threads"`
	Kernels           string  `json:"kernels"`
	StoppedAtEOG      bool    `json:"stopped_at_eog"`
	LogitsOut         string  `json:"logits_out,omitempty"`
}

func parseTokenList(s string) ([]int32, error) {
	var ids []int32
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("--tokens: %q is not a token id", f)
		}
		ids = append(ids, int32(v))
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("--tokens: no token ids given")
	}
	return ids, nil
}

func runRun(cmd *cobra.Command, path string, o *runOptions) error {
	if (o.prompt == "") == (o.tokens == "") {
		return usageError("give exactly one of -p TEXT or --tokens IDS")
	}
	if o.chat && o.tokens != "" {
		return usageError("--chat needs -p TEXT, not --tokens")
	}
	if o.nPredict < 0 || !(o.temp >= 0) || math.IsInf(o.temp, 0) || o.topK < 0 || o.threads < 0 {
		return usageError("-n, --top-k and --threads must be ≥ 0 and --temp a finite number ≥ 0")
	}
	if !(o.topP > 0 && o.topP <= 1) {
		return usageError("--top-p must be in (0, 1], got %v", o.topP)
	}
	if o.ctx < 0 || o.ctx > maxContext {
		return usageError("--ctx must be between 0 (prompt + n-predict) and %d tokens, got %d", maxContext, o.ctx)
	}
	// Refuse existing outputs before spending time on the model.
	for _, out := range []string{o.logitsOut, o.profileOut} {
		if out != "" && !o.force {
			if _, err := os.Stat(out); err == nil {
				return fmt.Errorf("%s: %w", out, atomicfile.ErrExists)
			}
		}
	}
	if o.plan != "" || o.gpu.vram != "" {
		if o.plan != "" && o.gpu.vram != "" {
			return usageError("give --plan or --vram, not both")
		}
		if handled, err := runGPU(cmd, path, o); handled {
			return err
		}
	} else if o.gpu.validate || o.gpu.reps != 1 {
		return usageError("--validate and --reps need a GPU plan (--plan or --vram)")
	}
	setKernelFlags(o.threads, o.noSIMD)
	f, err := gguf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var lopts runtime.Options
	if o.plan != "" {
		man, err := planner.Load(o.plan)
		if err != nil {
			return err
		}
		if lopts.Placement, err = runtime.PlacementFromManifest(man, f); err != nil {
			return fmt.Errorf("%s: %w", o.plan, err)
		}
	}
	model, err := runtime.Load(f, lopts)
	if err != nil {
		return err
	}
	tok, tokErr := tokenizer.FromGGUF(f.Metadata)
	if tokErr != nil {
		tok = nil
	}
	var prompt []int32
	switch {
	case o.tokens != "":
		if prompt, err = parseTokenList(o.tokens); err != nil {
			return withCode(exitUsage, err)
		}
	case tokErr != nil:
		return fmt.Errorf("%s: cannot tokenize the prompt: %w (use --tokens)", path, tokErr)
	default:
		text := o.prompt
		if o.chat {
			if text, err = renderChatPrompt(tok, o.prompt); err != nil {
				return fmt.Errorf("%s: --chat: %w", path, err)
			}
			prompt = tok.Encode(text, false, true)
		} else {
			prompt = tok.Encode(text, true, true)
		}
	}
	for _, id := range prompt {
		if int(id) >= model.NVocab {
			return fmt.Errorf("prompt token %d is outside the model's vocabulary of %d", id, model.NVocab)
		}
	}
	ctx := o.ctx
	if ctx <= 0 {
		ctx = len(prompt) + o.nPredict
	}
	sess := model.NewSession(ctx)
	if o.profileOut != "" {
		sess.RecordRouting()
	}
	out := cmd.OutOrStdout()
	stream := &textStream{w: out, tok: tok}
	gen := runtime.GenerateOptions{
		MaxTokens: o.nPredict,
		Sampler:   runtime.NewSampler(o.temp, o.topK, o.topP, o.seed),
	}
	stopped := false
	if tok != nil {
		gen.Stop = func(id int32) bool {
			if tok.IsEOG(id) {
				stopped = true
			}
			return stopped
		}
	}
	if !o.json {
		if tok != nil && o.tokens == "" {
			fmt.Fprint(out, o.prompt)
		}
		gen.OnToken = stream.add
	}
	if o.logitsOut != "" {
		atomicfile.RemoveOnSignal()
		gen.PromptLogits = func(l []float32) error {
			return npy.WriteFile(o.logitsOut, o.force, []int{len(prompt), model.NVocab}, l)
		}
	}
	ids, st, err := sess.Generate(prompt, gen)
	if err != nil {
		return err
	}
	if o.profileOut != "" {
		if err := writeProfile(o.profileOut, o.force, sess.Profile()); err != nil {
			return err
		}
	}
	if !o.json {
		stream.flush()
		fmt.Fprintln(out)
		return nil
	}
	res := runResult{
		Model: path, Architecture: model.Arch,
		PromptTokens: st.PromptTokens, GeneratedTokens: st.GeneratedTokens,
		PromptIDs: prompt, GeneratedIDs: ids,
		TTFTms:       ms(st.TTFT.Seconds()),
		PrefillMs:    ms(st.Prefill.Seconds()),
		DecodeMs:     ms(st.Decode.Seconds()),
		PeakRSSBytes: peakRSS(), KVCacheBytes: sess.KVBytes(),
		Threads: kernels.Threads(), Kernels: kernels.SIMD(),
		StoppedAtEOG: stopped, LogitsOut: o.logitsOut,
	}
	if res.GeneratedIDs == nil {
		res.GeneratedIDs = []int32{}
	}
	if tok != nil {
		res.Text = tok.Decode(ids)
	}
	if s := st.Prefill.Seconds(); s > 0 {
		res.PrefillTokensPerS = float64(st.PromptTokens) / s
	}
	// The first generated token comes from the prefill; decode speed counts
	// the tokens evaluated one at a time after it.
	if s := st.Decode.Seconds(); s > 0 && st.GeneratedTokens > 1 {
		res.DecodeTokensPerS = float64(st.GeneratedTokens-1) / s
	}
	return writeJSON(out, res)
}

func ms(s float64) float64 { return s * 1000 }

// writeProfile writes a usage profile atomically.
func writeProfile(path string, force bool, p *planner.Profile) error {
	f, err := atomicfile.Create(path, force)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Abort()
	if err := writeJSON(f, p); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Commit()
}

// textStream prints generated text as it comes, holding back an incomplete
// UTF-8 sequence until the token that completes it.
type textStream struct {
	w       io.Writer
	tok     *tokenizer.Tokenizer
	ids     []int32
	printed int
}

func (s *textStream) add(id int32) error {
	s.ids = append(s.ids, id)
	if s.tok == nil {
		_, err := fmt.Fprintf(s.w, " %d", id)
		return err
	}
	text := s.tok.Decode(s.ids)
	if strings.HasSuffix(text, string(utf8.RuneError)) {
		return nil
	}
	return s.emit(text)
}

func (s *textStream) emit(text string) error {
	if len(text) < s.printed || !strings.HasPrefix(text, text[:s.printed]) {
		return nil
	}
	_, err := io.WriteString(s.w, text[s.printed:])
	s.printed = len(text)
	return err
}

func (s *textStream) flush() {
	if s.tok != nil {
		s.emit(s.tok.Decode(s.ids))
	}
}

// setKernelFlags applies --threads (0 keeps all cores) and --no-simd to the
// CPU kernels, for run and bench.
func setKernelFlags(threads int, noSIMD bool) {
	if threads > 0 {
		kernels.SetThreads(threads)
	}
	if noSIMD {
		kernels.SetSIMD(false)
	}
}
