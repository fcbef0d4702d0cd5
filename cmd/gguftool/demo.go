package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

func init() { register(newDemoCmd) }

// demoFixture is the bundled tiny GPT-OSS checkpoint, present when gguftool
// runs from a checkout of the repository.
const demoFixture = "testdata/fixtures/gpt-oss"

type demoOptions struct {
	dir        string
	checkpoint string
	vram       string
	prompt     string
	n          int
}

func newDemoCmd() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline on a tiny model: convert, quantize, plan, run",
		Long: `Runs the main job end to end on a tiny model, printing each command as it goes:
convert a safetensors checkpoint (the bundled tiny GPT-OSS fixture when run from the
repository; otherwise a model synthesized with gguftool synth), quantize it with the
MXFP4_MOE preset, plan its placement under a VRAM budget, and run it greedily (on the GPU
with the plan when one is present, else on the CPU). With the fixture, the greedy tokens
are checked against transformers' reference continuation.`,
		Example: `  gguftool demo
  gguftool demo --dir demo-out --vram 16MiB -n 24
  gguftool demo --checkpoint ./gpt-oss-20b --vram 8GiB -p "Why is the sky blue?"`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(cmd.OutOrStdout(), &o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "", "keep the files in this directory (default: a temporary one, removed at the end)")
	f.StringVar(&o.checkpoint, "checkpoint", "", "safetensors checkpoint to convert (default: "+demoFixture+" if present)")
	f.StringVar(&o.vram, "vram", "8MiB", "VRAM budget for the plan")
	f.StringVarP(&o.prompt, "prompt", "p", "", "prompt (default: the fixture's reference prompt)")
	f.IntVarP(&o.n, "n-predict", "n", 12, "tokens to generate")
	return cmd
}

// demoStep runs one gguftool command in-process, echoing it to w first and
// sending its output to out.
func demoStep(w, out io.Writer, args ...string) error {
	fmt.Fprintf(w, "\n$ gguftool %s\n", shellJoin(args))
	root := newRootCmd()
	root.SetOut(out)
	root.SetErr(os.Stderr)
	root.SetArgs(args)
	return root.Execute()
}

func shellJoin(args []string) string {
	s := ""
	for i, a := range args {
		if i > 0 {
			s += " "
		}
		if a == "" || containsAny(a, " \t\"'$`\\|&;<>()*?[]{}") {
			a = fmt.Sprintf("%q", a)
		}
		s += a
	}
	return s
}

func containsAny(s, chars string) bool {
	for _, c := range s {
		for _, d := range chars {
			if c == d {
				return true
			}
		}
	}
	return false
}

func runDemo(w io.Writer, o *demoOptions) error {
	dir := o.dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "gguftool-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ckpt := o.checkpoint
	if ckpt == "" {
		if st, err := os.Stat(demoFixture); err == nil && st.IsDir() {
			ckpt = demoFixture
		}
	}
	base := filepath.Join(dir, "tiny-gpt-oss-f16.gguf")
	var ref struct {
		PromptText string  `json:"prompt_text"`
		PromptIDs  []int   `json:"prompt_ids"`
		Greedy     []int32 `json:"greedy_continuation"`
	}
	if ckpt != "" {
		if err := demoStep(w, w, "convert", ckpt, "-o", base, "--outtype", "f16", "--force"); err != nil {
			return err
		}
		if b, err := os.ReadFile(filepath.Join(ckpt, "reference.json")); err == nil {
			json.Unmarshal(b, &ref)
		}
	} else {
		fmt.Fprintln(w, "(no checkpoint given and no bundled fixture here: synthesizing a random-weight model)")
		if err := demoStep(w, w, "synth", "--preset", "tiny-gpt-oss", "-o", base, "--force"); err != nil {
			return err
		}
	}
	quantized := filepath.Join(dir, "tiny-gpt-oss-MXFP4_MOE.gguf")
	plan := filepath.Join(dir, "plan.json")
	steps := [][]string{
		{"quantize", "--force", base, quantized, "MXFP4_MOE"},
		{"plan", quantized, "--vram", o.vram, "--ctx", "512", "--reserve", "0", "-o", plan, "--force"},
		{"devices"},
	}
	for _, s := range steps {
		if err := demoStep(w, w, s...); err != nil {
			return err
		}
	}
	runArgs := []string{"run", base, "--temp", "0", "-n", fmt.Sprint(o.n)}
	switch {
	case o.prompt != "":
		runArgs = append(runArgs, "-p", o.prompt)
	case len(ref.PromptIDs) > 0:
		runArgs = append(runArgs, "--tokens", joinInts(ref.PromptIDs))
	default:
		runArgs = append(runArgs, "-p", "Hello")
	}
	fmt.Fprintln(w, "\n# the unquantized conversion, greedily; its tokens are checked against transformers' reference")
	var out bytes.Buffer
	if err := demoStep(w, &out, append(runArgs, "--json")...); err != nil {
		return err
	}
	var got struct {
		IDs   []int32 `json:"generated_ids"`
		Text  string  `json:"text"`
		TTFT  float64 `json:"ttft_ms"`
		Rate  float64 `json:"decode_tokens_per_s"`
		Peak  int64   `json:"peak_rss_bytes"`
		Kerns string  `json:"kernels"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		return fmt.Errorf("demo: reading run's JSON: %w", err)
	}
	fmt.Fprintf(w, "generated ids: %v\ntext: %q\nTTFT %.1f ms, decode %.1f tokens/s, peak RSS %s (%s kernels)\n",
		got.IDs, got.Text, got.TTFT, got.Rate, humanBytes(uint64(got.Peak)), got.Kerns)
	if len(ref.Greedy) > 0 && o.prompt == "" {
		n := min(len(got.IDs), len(ref.Greedy))
		same := 0
		for same < n && got.IDs[same] == ref.Greedy[same] {
			same++
		}
		fmt.Fprintf(w, "greedy tokens equal to transformers' reference: %d of %d\n", same, n)
		if same != n {
			return fmt.Errorf("demo: greedy continuation differs from the reference at token %d", same)
		}
	}
	quantRun := append([]string{"run", quantized}, runArgs[2:]...)
	if gpu := listDevices(); len(gpu.Devices) > 0 {
		fmt.Fprintln(w, "\n# the quantized model, placed by the plan: attention on the GPU, layers 0-1's experts on the CPU")
		quantRun = append(quantRun, "--plan", plan)
	} else {
		fmt.Fprintln(w, "\n# the quantized model on the CPU (no GPU here; with one, add --plan "+plan+")")
	}
	return demoStep(w, w, quantRun...)
}

func joinInts(xs []int) string {
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprint(x)
	}
	return s
}
