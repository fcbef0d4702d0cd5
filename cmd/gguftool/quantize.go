package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/internal/atomicfile"
	"github.com/gguftool/gguftool/quant"
	"github.com/spf13/cobra"
)

type quantizeOptions struct {
	pure, leaveOutput, allowRequantize bool
	tensorTypes                        []string
	outputType, embeddingType          string
	experts, dense                     string
	report, dryRun, force, json        bool
	threads                            int
}

func init() { register(newQuantizeCmd) }

func newQuantizeCmd() *cobra.Command {
	var o quantizeOptions
	cmd := &cobra.Command{
		Use:   "quantize [flags] IN.gguf OUT.gguf TYPE",
		Short: "Quantize a GGUF model bit-exactly like llama-quantize, with expert-aware recipes",
		Long: `Quantize a GGUF model. TYPE is a llama-quantize preset:
  ` + strings.Join(quant.FtypeNames(), ", ") + `
(Q4_K, Q5_K and Q3_K mean their _M variant). Without --experts/--dense the output is byte for
byte the file llama-quantize writes without an importance matrix: the same per-tensor types
(mixture rules, shape fallbacks), tensor order and metadata.

gguftool's own recipe for offloading: --experts TYPE for the routed-expert tensors (*_exps,
which usually stay in CPU memory) and --dense TYPE for every other quantizable weight (which
goes to the GPU). Norms, biases, routers and 1-D tensors are never quantized. Such a file
records the recipe under gguftool.quantize.recipe.

The input is read from its memory map one tensor at a time and quantized on all cores;
the output appears only when complete.`,
		Example: `  gguftool quantize model-f16.gguf model-Q4_K_M.gguf Q4_K_M
  gguftool quantize --experts Q4_K --dense Q8_0 model-f16.gguf model-moe.gguf Q4_K_M
  gguftool quantize --tensor-type 'ffn_down=q6_k' --report model-f16.gguf out.gguf Q4_K_M
  gguftool quantize --dry-run model-f16.gguf Q4_K_M`,
		Args: func(cmd *cobra.Command, args []string) error {
			if o.dryRun && len(args) == 2 {
				return nil
			}
			return exactArgs(3)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			in, typ := args[0], args[len(args)-1]
			out := ""
			if len(args) == 3 {
				out = args[1]
			}
			return runQuantize(cmd.OutOrStdout(), in, out, typ, &o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.pure, "pure", false, "give every quantizable tensor the preset's default type (no mixture rules)")
	f.BoolVar(&o.leaveOutput, "leave-output-tensor", false, "do not quantize output.weight")
	f.StringArrayVar(&o.tensorTypes, "tensor-type", nil, "PATTERN=TYPE: tensors matching the regular expression get TYPE (repeatable; first match wins)")
	f.StringVar(&o.outputType, "output-tensor-type", "", "type of output.weight")
	f.StringVar(&o.embeddingType, "token-embedding-type", "", "type of token_embd.weight")
	f.BoolVar(&o.allowRequantize, "allow-requantize", false, "allow converting tensors that are already quantized (loses precision)")
	f.StringVar(&o.experts, "experts", "", "type of the routed-expert tensors (*_exps)")
	f.StringVar(&o.dense, "dense", "", "type of every other quantizable weight")
	f.BoolVar(&o.report, "report", false, "print per tensor the types, bytes, RMSE and max error of dequantize(quantize(x)) against x")
	f.BoolVar(&o.json, "json", false, "print the report or dry run as JSON")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the per-tensor plan and sizes without writing anything")
	f.BoolVar(&o.force, "force", false, "overwrite an existing output")
	f.IntVarP(&o.threads, "threads", "t", 0, "worker goroutines (0: one per core)")
	return cmd
}

// buildRecipe turns the command line into a quant.Recipe; every mistake is
// a usage error.
func buildRecipe(typ string, o *quantizeOptions) (*quant.Recipe, error) {
	ft, err := quant.ParseFtype(typ)
	if err != nil {
		return nil, usageError("%v", err)
	}
	r := quant.NewRecipe(ft)
	r.Pure, r.LeaveOutputTensor, r.AllowRequantize = o.pure, o.leaveOutput, o.allowRequantize
	for _, s := range o.tensorTypes {
		rule, err := quant.ParseTensorTypeRule(s)
		if err != nil {
			return nil, usageError("%v", err)
		}
		r.TensorTypes = append(r.TensorTypes, rule)
	}
	for _, opt := range []struct {
		flag, value string
		dst         *gguf.Type
	}{
		{"--output-tensor-type", o.outputType, &r.OutputTensorType},
		{"--token-embedding-type", o.embeddingType, &r.TokenEmbeddingType},
		{"--experts", o.experts, &r.ExpertsType},
		{"--dense", o.dense, &r.DenseType},
	} {
		if opt.value == "" {
			continue
		}
		t, err := quant.ParseTargetType(opt.value)
		if err != nil {
			return nil, usageError("%s: %v", opt.flag, err)
		}
		*opt.dst = t
	}
	return r, nil
}

func runQuantize(stdout io.Writer, in, out, typ string, o *quantizeOptions) error {
	r, err := buildRecipe(typ, o)
	if err != nil {
		return err
	}
	if o.threads < 0 {
		return usageError("--threads must be ≥ 0")
	}
	if out != "" && sameFile(in, out) {
		return usageError("output %s is the input file", out)
	}
	src, err := gguf.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	plan, err := r.Plan(src.Metadata, src.Tensors)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if o.dryRun {
		return printQuantizePlan(stdout, plan, o.json)
	}

	f, err := atomicfile.Create(out, o.force)
	if err != nil {
		return err
	}
	defer f.Abort()
	var total int64
	for i := range plan.Tensors {
		total += int64(plan.Tensors[i].Src.Size())
	}
	bar := newProgress(total, "quantize "+r.Ftype.String())
	reports, err := plan.Write(f, src, quant.WriteOptions{
		Workers:  o.threads,
		Report:   o.report,
		Progress: func(n int64) { bar.Add64(n) },
	})
	bar.Finish()
	if err != nil {
		// Name both: the failure may be the input's data (a NaN) or the output's disk.
		return fmt.Errorf("quantizing %s into %s: %w", in, out, err)
	}
	if err := f.Commit(); err != nil {
		return err
	}
	if o.report {
		return printQuantizeReport(stdout, reports, o.json)
	}
	var outBytes int64
	for _, rep := range reports {
		outBytes += rep.OutBytes
	}
	fmt.Fprintf(stdout, "%s: %s, %d tensors, %s → %s\n", out, r.Ftype, len(reports), mib(total), mib(outBytes))
	return nil
}

// sameFile reports whether a and b name the same existing file.
func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	if err1 != nil || err2 != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return os.SameFile(sa, sb)
}

func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }

type planTensorJSON struct {
	Name     string   `json:"name"`
	TypeIn   string   `json:"type_in"`
	TypeOut  string   `json:"type_out"`
	Ne       []uint64 `json:"ne"`
	BytesIn  uint64   `json:"bytes_in"`
	BytesOut uint64   `json:"bytes_out"`
}

func printQuantizePlan(w io.Writer, p *quant.Plan, asJSON bool) error {
	var in, out uint64
	ts := make([]planTensorJSON, len(p.Tensors))
	for i, tp := range p.Tensors {
		ts[i] = planTensorJSON{tp.Src.Name, tp.Src.Type.String(), tp.Out.Type.String(), tp.Out.Dims, tp.Src.Size(), tp.Out.Size()}
		in += tp.Src.Size()
		out += tp.Out.Size()
	}
	if asJSON {
		return writeJSON(w, map[string]any{"ftype": p.Recipe.Ftype.String(), "recipe": p.Recipe.String(),
			"tensors": ts, "bytes_in": in, "bytes_out": out})
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TENSOR\tIN\tOUT\tSHAPE\tBYTES IN\tBYTES OUT")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%d\t%d\n", t.Name, t.TypeIn, t.TypeOut, t.Ne, t.BytesIn, t.BytesOut)
	}
	fmt.Fprintf(tw, "total\t\t\t\t%d\t%d\n", in, out)
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s → %s (%s)\n", mib(int64(in)), mib(int64(out)), p.Recipe)
	return err
}

func printQuantizeReport(w io.Writer, reps []quant.TensorReport, asJSON bool) error {
	var in, out, n int64
	var sumSq, maxErr float64
	for _, r := range reps {
		in += r.InBytes
		out += r.OutBytes
		if r.Converted {
			n += r.Elements
			sumSq += r.RMSE * r.RMSE * float64(r.Elements)
			maxErr = math.Max(maxErr, r.MaxAbsErr)
		}
	}
	rmse := 0.0
	if n > 0 {
		rmse = math.Sqrt(sumSq / float64(n))
	}
	if asJSON {
		return writeJSON(w, map[string]any{"tensors": reps, "bytes_in": in, "bytes_out": out,
			"converted_elements": n, "rmse": rmse, "max_abs_err": maxErr})
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TENSOR\tIN\tOUT\tBYTES IN\tBYTES OUT\tRMSE\tMAX ERR")
	for _, r := range reps {
		errs := "copied\t"
		if r.Converted {
			errs = fmt.Sprintf("%.3g\t%.3g", r.RMSE, r.MaxAbsErr)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", r.Name, r.InType, r.OutType, r.InBytes, r.OutBytes, errs)
	}
	fmt.Fprintf(tw, "total\t\t\t%d\t%d\t%.3g\t%.3g\n", in, out, rmse, maxErr)
	if err := tw.Flush(); err != nil {
		return err
	}
	if in > 0 {
		_, err := fmt.Fprintf(w, "%s → %s (%.1f%%)\n", mib(in), mib(out), 100*float64(out)/float64(in))
		return err
	}
	return nil
}
