package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/internal/atomicfile"
	"github.com/gguftool/gguftool/planner"
	"github.com/gguftool/gguftool/synth"
	"github.com/spf13/cobra"
)

func init() { register(newPlanCmd) }

func newPlanCmd() *cobra.Command {
	var (
		vram, reserve, cacheType, profilePath, out string
		planRuntime                                string
		preset, presetType                         string
		ctx, ubatch                                int
		jsonOut, perExpert, noFA, force            bool
		cpuMoE                                     cpuMoEFlags
	)
	cmd := &cobra.Command{
		Use:   "plan (MODEL.gguf | --preset NAME) --vram SIZE",
		Short: "Decide which tensors live on the GPU under a VRAM budget; print the manifest and llama.cpp flags",
		Long: `plan computes how much GPU memory the model needs — weights per tensor (exact bytes), the KV
cache per layer (GQA, MLA, sliding-window layers at their window), the compute buffer of one
ubatch, and a reserve for the CUDA context — and places the tensors: everything that is not a
routed expert on the GPU (token embeddings stay in CPU memory, as llama.cpp keeps them), then
whole layers of experts from the last layer down while they fit (the first layers' experts stay
on the CPU, like llama.cpp's --n-cpu-moe), then the next layer's expert tensors. With
--per-expert the room left goes to single experts ranked by a usage profile (--profile).

It prints a summary and the llama.cpp command for the same placement; --json prints the
manifest (schema gguftool.plan/v1, docs/planner.md), -o writes it. If even the GPU-resident
minimum does not fit, plan exits with code 3 and prints that minimum and what dominates it.

--preset NAME [--type T] plans the geometry of a synth preset (gguftool synth --list) from its
header alone, without writing the model.

Sizes: 2GiB, 1.5GB, 512MiB, 3G (K/M/G/T alone are binary).`,
		Example: `  gguftool plan gpt-oss-20b.gguf --vram 4GiB
  gguftool plan gpt-oss-20b.gguf --vram 8GiB --ctx 16384 --cache-type q8_0 -o plan.json
  gguftool plan model.gguf --vram 6GiB --per-expert --profile routing.json --json
  gguftool plan --preset gpt-oss-120b --type q8_0 --vram 24GiB`,
		Args: func(cmd *cobra.Command, args []string) error {
			if preset != "" {
				return exactArgs(0)(cmd, args)
			}
			return exactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if vram == "" {
				return usageError("--vram SIZE is required (e.g. --vram 4GiB)")
			}
			budget, err := planner.ParseSize(vram)
			if err != nil {
				return usageError("--vram: %v", err)
			}
			res := int64(-1)
			if cmd.Flags().Changed("reserve") {
				if res, err = planner.ParseSize(reserve); err != nil {
					return usageError("--reserve: %v", err)
				}
			}
			if ctx < 1 || ctx > 1<<24 {
				return usageError("--ctx %d: must be between 1 and %d", ctx, 1<<24)
			}
			if ubatch < 1 || ubatch > 1<<16 {
				return usageError("--ubatch %d: must be between 1 and 65536", ubatch)
			}
			ct := planner.CacheType(strings.ToLower(cacheType))
			if ct != planner.CacheF16 && ct != planner.CacheQ8_0 {
				return usageError("--cache-type %q: want f16 or q8_0", cacheType)
			}
			if planRuntime != planner.RuntimeLlamaCpp && planRuntime != planner.RuntimeGguftool {
				return usageError("--runtime %q: want %s or %s", planRuntime, planner.RuntimeLlamaCpp, planner.RuntimeGguftool)
			}
			if out != "" && len(args) == 1 && sameFile(args[0], out) {
				return usageError("-o %s is the model file; write the manifest to another file", out)
			}
			if profilePath != "" && !perExpert {
				return usageError("--profile needs --per-expert (whole layers do not use a profile)")
			}
			var prof *planner.Profile
			if profilePath != "" {
				if prof, err = planner.LoadProfile(profilePath); err != nil {
					return err
				}
			}
			var model *planner.Model
			presetNote := ""
			if preset != "" {
				sm, err := synth.Build(synth.Options{Preset: preset, Type: presetType})
				if err != nil {
					return withCode(exitUsage, err)
				}
				name := preset + "-" + sm.Type + ".gguf"
				model = planner.FromHeader(name, sm.Size, sm.Header())
				presetNote = fmt.Sprintf("planned from the geometry of synth preset %s (%s); write it with: gguftool synth --preset %s --type %s -o %s",
					preset, sm.Type, preset, sm.Type, name)
			} else {
				if presetType != "" {
					return usageError("--type goes with --preset")
				}
				f, err := gguf.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				model = planner.FromFile(f)
			}
			nCPUMoE, err := cpuMoE.layers()
			if err != nil {
				return err
			}
			man, err := planner.Plan(model, planner.Options{
				VRAM: budget, Context: ctx, UBatch: ubatch, CacheType: ct, FlashAttn: !noFA,
				Reserve: res, PerExpert: perExpert, Profile: prof, ProfilePath: profilePath,
				Runtime: planRuntime, CPUMoE: nCPUMoE,
				// gguftool's runtime may take smaller prompt passes to fit,
				// unless --ubatch was given.
				AutoUBatch: planRuntime == planner.RuntimeGguftool && !cmd.Flags().Changed("ubatch"),
			})
			var inf *planner.InfeasibleError
			if errors.As(err, &inf) {
				if jsonOut {
					// Tools get the minimum on stdout too; the exit code says infeasible.
					writeJSON(cmd.OutOrStdout(), inf.Report())
				}
				return withCode(exitInfeasible, err)
			}
			if err != nil {
				return err
			}
			if presetNote != "" {
				man.Notes = append(man.Notes, presetNote)
			}
			if out != "" {
				af, err := atomicfile.Create(out, force)
				if err != nil {
					return err
				}
				defer af.Abort()
				if err := man.Write(af); err != nil {
					return fmt.Errorf("%s: %w", out, err)
				}
				if err := af.Commit(); err != nil {
					return err
				}
			}
			w := cmd.OutOrStdout()
			if jsonOut {
				return man.Write(w)
			}
			if err := man.Summary(w); err != nil {
				return err
			}
			if out != "" {
				fmt.Fprintf(w, "manifest written to %s\n", out)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&vram, "vram", "", "GPU memory budget (e.g. 4GiB, 1.5GB, 512MiB)")
	fl.IntVar(&ctx, "ctx", 4096, "context length in tokens")
	fl.IntVar(&ubatch, "ubatch", planner.DefaultUBatch, "physical batch size (llama.cpp -ub); sets the compute buffer")
	fl.StringVar(&cacheType, "cache-type", "f16", "KV cache type: f16 or q8_0")
	fl.BoolVar(&noFA, "no-flash-attn", false, "plan for attention without flash attention (larger compute buffer)")
	fl.StringVar(&reserve, "reserve", planner.FormatSize(planner.DefaultReserve),
		"VRAM kept for the CUDA context, workspaces and margin (default: llama.cpp's measured overhead on an H100, offload.md §7)")
	fl.StringVar(&planRuntime, "runtime", planner.RuntimeLlamaCpp,
		"what runs the plan: llama.cpp (its buffers, flags) or gguftool (`gguftool run`: f16 GPU KV cache with sliding-window rings, its own scratch and expert staging, reserve 346 MiB = the measured CUDA context and margin)")
	fl.BoolVar(&perExpert, "per-expert", false, "after whole layers, place single experts of stacked tensors")
	addCPUMoEFlags(cmd, &cpuMoE)
	fl.StringVar(&profilePath, "profile", "", "expert usage profile (JSON, gguftool.profile/v1) ranking experts for --per-expert")
	fl.BoolVar(&jsonOut, "json", false, "print the manifest as JSON instead of the summary")
	fl.StringVarP(&out, "output", "o", "", "write the manifest to FILE")
	fl.BoolVar(&force, "force", false, "overwrite the -o file if it exists")
	fl.StringVar(&preset, "preset", "", "plan a synth preset's geometry instead of a file")
	fl.StringVar(&presetType, "type", "", "tensor types of --preset (see gguftool synth --help)")
	return cmd
}
