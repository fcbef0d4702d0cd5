package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/gguftool/gguftool/convert"
	"github.com/gguftool/gguftool/internal/atomicfile"
	"github.com/spf13/cobra"
)

type convertOptions struct {
	out, outType, pre string
	force, dryRun     bool
	json              bool
	threads           int
	names             convert.Overrides
}

func init() { register(newConvertCmd) }

func newConvertCmd() *cobra.Command {
	var o convertOptions
	cmd := &cobra.Command{
		Use:   "convert MODEL_DIR -o OUT.gguf [--outtype f32|f16|bf16|q8_0|auto]",
		Short: "Convert a HuggingFace safetensors checkpoint to GGUF exactly as llama.cpp does",
		Long: `Convert a HuggingFace checkpoint directory (config.json, *.safetensors or a sharded
checkpoint with model.safetensors.index.json, tokenizer files) to GGUF. The output is the
file llama.cpp's convert_hf_to_gguf.py writes, byte for byte: same metadata, tensor names,
order, types and data.

Architectures: ` + strings.Join(convert.SupportedArchitectures(), ", ") + `.

--outtype auto (the default) picks bf16 for a bf16 checkpoint, else f16. Norms, biases and
routers stay F32; GPT-OSS MXFP4 experts are repacked, not re-quantized (q8_0 quantizes the
rest). The checkpoint is streamed from its memory map a chunk of rows at a time on all
cores, so memory use does not grow with the model; the output appears only when complete.`,
		Example: `  gguftool convert ./gpt-oss-20b -o gpt-oss-20b.gguf
  gguftool convert ./Phi-3.5-MoE-instruct -o phimoe-q8_0.gguf --outtype q8_0
  gguftool convert ./deepseek-moe-16b-chat --dry-run`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConvert(cmd.Context(), cmd.OutOrStdout(), args[0], &o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "output", "o", "", "output GGUF file")
	f.StringVar(&o.outType, "outtype", "auto", "type of the weights: "+strings.Join(convert.OutTypes, ", "))
	f.StringVar(&o.pre, "tokenizer-pre", "", "tokenizer.ggml.pre to write when the pre-tokenizer is not recognized (e.g. gpt-4o, llama-bpe, qwen2, deepseek-llm, deepseek-v3)")
	f.BoolVar(&o.force, "force", false, "overwrite an existing output")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the plan (source tensors → GGUF name, type, shape, bytes) without writing")
	f.BoolVar(&o.json, "json", false, "print the dry-run plan as JSON")
	f.IntVarP(&o.threads, "threads", "t", 0, "converting goroutines (0: one per core)")
	f.StringVar(&o.names.Name, "name", "", "general.name (default: derived from the directory name, as llama.cpp does)")
	f.StringVar(&o.names.Basename, "basename", "", "general.basename")
	f.StringVar(&o.names.Finetune, "finetune", "", "general.finetune")
	f.StringVar(&o.names.Version, "version", "", "general.version")
	f.StringVar(&o.names.SizeLabel, "size-label", "", "general.size_label (default: computed from the parameter count)")
	return cmd
}

func runConvert(ctx context.Context, stdout io.Writer, dir string, o *convertOptions) error {
	if o.threads < 0 {
		return usageError("--threads must be ≥ 0")
	}
	valid := false
	for _, t := range convert.OutTypes {
		valid = valid || strings.EqualFold(t, o.outType)
	}
	if !valid {
		return usageError("--outtype %q: expected one of %s", o.outType, strings.Join(convert.OutTypes, ", "))
	}
	if !o.dryRun && o.out == "" {
		return usageError("missing -o OUT.gguf (or use --dry-run)")
	}
	if st, err := os.Stat(dir); err != nil {
		return err
	} else if !st.IsDir() {
		return usageError("%s is not a model directory", dir)
	}
	if !o.dryRun {
		// Renaming over a shard or config.json would destroy the checkpoint.
		if ents, err := os.ReadDir(dir); err == nil {
			for _, e := range ents {
				if p := filepath.Join(dir, e.Name()); sameFile(p, o.out) {
					return usageError("-o %s is %s of the checkpoint; write the GGUF to another file", o.out, p)
				}
			}
		}
	}
	p, err := convert.NewPlan(dir, convert.Options{OutType: o.outType, TokenizerPre: o.pre, Names: o.names, Workers: o.threads})
	if err != nil {
		return err
	}
	defer p.Close()
	if o.dryRun {
		return printConvertPlan(stdout, p, o.json)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	f, err := atomicfile.Create(o.out, o.force)
	if err != nil {
		return err
	}
	defer f.Abort()
	total := p.DataSize()
	bar := newProgress(total, "convert "+p.OutType.String())
	err = p.Write(ctx, f, o.threads, func(done int64) { bar.Set64(done) })
	bar.Finish()
	if err != nil {
		return fmt.Errorf("%s: %w", o.out, err)
	}
	if err := f.Commit(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s (%s), %d tensors, %d keys, %s of tensor data\n", o.out, p.Arch, p.OutType, len(p.Tensors), p.Metadata.Len(), mib(total))
	return nil
}

type convertTensorJSON struct {
	Name    string          `json:"name"`
	Type    string          `json:"type"`
	Ne      []uint64        `json:"ne"`
	Bytes   uint64          `json:"bytes"`
	Sources []convertSource `json:"sources"`
}

type convertSource struct {
	Name  string  `json:"name"`
	DType string  `json:"dtype,omitempty"`
	Shape []int64 `json:"shape,omitempty"`
}

func printConvertPlan(w io.Writer, p *convert.Plan, asJSON bool) error {
	ts := make([]convertTensorJSON, len(p.Tensors))
	var total uint64
	for i, t := range p.Tensors {
		ts[i] = convertTensorJSON{Name: t.Name, Type: t.Type.String(), Ne: t.Dims, Bytes: t.Size()}
		for _, s := range t.Sources {
			cs := convertSource{Name: s}
			if src := p.Source(s); src != nil {
				cs.DType, cs.Shape = string(src.DType), src.Shape
			}
			ts[i].Sources = append(ts[i].Sources, cs)
		}
		total += t.Size()
	}
	if asJSON {
		return writeJSON(w, map[string]any{"architecture": p.Arch, "outtype": p.OutType.String(),
			"metadata_keys": p.Metadata.Keys(), "tensors": ts, "bytes": total})
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\t→ GGUF TENSOR\tTYPE\tNE\tBYTES")
	for _, t := range ts {
		src := describeSources(t.Sources)
		fmt.Fprintf(tw, "%s\t→ %s\t%s\t%v\t%d\n", src, t.Name, t.Type, t.Ne, t.Bytes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s (%s) → %s: %d tensors, %d metadata keys, %s of tensor data\n",
		p.Dir, p.Architecture, p.Arch, len(ts), p.Metadata.Len(), mib(int64(total)))
	return err
}

// describeSources abbreviates the expert lists of stacked tensors.
func describeSources(ss []convertSource) string {
	if len(ss) == 0 {
		return "-"
	}
	first := fmt.Sprintf("%s %s %v", ss[0].Name, ss[0].DType, ss[0].Shape)
	if ss[0].DType == "" {
		first = ss[0].Name
	}
	if len(ss) == 1 {
		return first
	}
	if len(ss) == 2 {
		return first + " + " + ss[1].Name
	}
	return fmt.Sprintf("%s + %d more", first, len(ss)-1)
}
