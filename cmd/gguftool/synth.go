package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gguftool/gguftool/internal/atomicfile"
	"github.com/gguftool/gguftool/synth"
	"github.com/spf13/cobra"
)

func init() { register(newSynthCmd) }

func newSynthCmd() *cobra.Command {
	var (
		preset, out, typ string
		layers, vocab    int
		seed             uint64
		force, list      bool
		jsonOut          bool
	)
	cmd := &cobra.Command{
		Use:   "synth --preset NAME -o OUT.gguf",
		Short: "Write a random-weight GGUF with the exact geometry of a real MoE model",
		Long: `synth writes a GGUF with the geometry, metadata keys and tensor types of a real model as
llama.cpp's converter writes it (and, for --type q4_k_m, as llama-quantize's Q4_K_M recipe
types it), filled with random values distributed like a freshly initialized network's (σ = 1/√fan-in,
residual writers scaled down with depth, norms near 1; quantized blocks are random codes with
scales for that σ), so the models are well-conditioned: rounding differences stay small
through all the layers and run --validate on them checks a GPU plan against the CPU runtime.
Placement, memory and speed do not depend on the values, so plans and benchmarks can run on
these files. The file is streamed: memory stays flat whatever the model size. --layers and
--vocab shrink a model for tests while keeping its layer shapes.

Types: the converter's outtypes f16 (gpt-oss default: MXFP4 experts, other matrices F16),
bf16, f32, q8_0 (gpt-oss: MXFP4 experts, other matrices Q8_0 — the tensor types of
llama-quantize's MXFP4_MOE preset, with the converter's file_type 7); and llama-quantize's
presets q4_k_m (default for phi-3.5-moe and the DeepSeek presets) and mxfp4_moe (every
stacked expert MXFP4, the rest Q8_0, file_type 38). tiny-* presets have the geometry of the
test fixtures and are a few MB.`,
		Example: `  gguftool synth --preset tiny-gpt-oss -o tiny.gguf
  gguftool synth --preset gpt-oss-20b -o gpt-oss-20b-f16.gguf
  gguftool synth --preset deepseek-moe-16b --type q8_0 --layers 4 -o ds4.gguf
  gguftool synth --preset gpt-oss-20b --layers 2 --vocab 4096 -o oss-2l.gguf
  gguftool synth --list --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if list {
				type presetJSON struct {
					Name        string `json:"name"`
					Arch        string `json:"arch"`
					Type        string `json:"type"`
					Bytes       int64  `json:"bytes"`
					Layers      int    `json:"layers"`
					Description string `json:"description"`
				}
				var all []presetJSON
				w := bufio.NewWriter(cmd.OutOrStdout())
				for _, name := range synth.Presets() {
					p, _ := synth.Lookup(name)
					m, err := synth.Build(synth.Options{Preset: name})
					if err != nil {
						return err
					}
					if jsonOut {
						all = append(all, presetJSON{name, p.Arch, m.Type, m.Size, m.Preset.Layers, p.Description})
						continue
					}
					fmt.Fprintf(w, "%-22s %-7s %9s  %s\n", name, m.Type, decimalBytes(m.Size), p.Description)
				}
				if jsonOut {
					return writeJSON(cmd.OutOrStdout(), all)
				}
				return w.Flush()
			}
			if jsonOut {
				return usageError("--json goes with --list")
			}
			if preset == "" {
				return usageError("--preset is required (one of: %s)", strings.Join(synth.Presets(), ", "))
			}
			if out == "" {
				return usageError("-o OUT.gguf is required")
			}
			m, err := synth.Build(synth.Options{Preset: preset, Layers: layers, Vocab: vocab, Type: typ, Seed: seed})
			if err != nil {
				return withCode(exitUsage, err)
			}
			f, err := atomicfile.Create(out, force)
			if err != nil {
				if errors.Is(err, atomicfile.ErrExists) {
					return withCode(exitError, err)
				}
				return err
			}
			defer f.Abort()
			bar := newProgress(m.Size-m.DataOffset, "synth "+preset)
			start := time.Now()
			var last int64
			err = m.WriteTo(f, func(done int64) {
				bar.Add64(done - last)
				last = done
			})
			if err != nil {
				return fmt.Errorf("%s: %w", out, err)
			}
			if err := f.Commit(); err != nil {
				return err
			}
			bar.Finish()
			el := time.Since(start).Seconds()
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %s, %s %s, %d layers, %d tensors, %s in %.1f s (%.0f MB/s)\n",
				out, m.Preset.Name, m.Preset.Arch, m.Type, m.Preset.Layers, len(m.Tensors), decimalBytes(m.Size),
				el, float64(m.Size)/1e6/max(el, 1e-9))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&preset, "preset", "", "model to imitate (see --list)")
	fl.StringVarP(&out, "output", "o", "", "output GGUF file")
	fl.StringVar(&typ, "type", "", "tensor types: "+strings.Join(synth.Types, ", ")+" (default: the preset's)")
	fl.IntVar(&layers, "layers", 0, "number of layers (default: the real model's)")
	fl.IntVar(&vocab, "vocab", 0, "vocabulary size (default: the real model's; special tokens keep their distance from the end)")
	fl.Uint64Var(&seed, "seed", 0, "random seed; the same seed gives the same file")
	fl.BoolVar(&force, "force", false, "overwrite OUT if it exists")
	fl.BoolVar(&list, "list", false, "list the presets with their default type and size")
	fl.BoolVar(&jsonOut, "json", false, "print the --list as JSON")
	return cmd
}

// decimalBytes prints a byte count in decimal units (GB = 1e9), the unit
// the reference tables use for file sizes.
func decimalBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
