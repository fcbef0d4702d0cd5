package publish

import (
	"fmt"
	"strings"
)

// Markers around the card's file table, which verify reads back. HTML
// comments do not show on the Hub.
const (
	filesBegin = "<!-- gguftool:files -->"
	filesEnd   = "<!-- /gguftool:files -->"
)

// Tags every card carries.
var cardTags = []string{"gguf", "moe", "cpu-offload", "llama.cpp"}

// RenderCard writes the model card (README.md). It depends only on the
// manifest and the bench result: no clock, no host names, no absolute paths,
// so the same inputs give the same card.
func RenderCard(m *Manifest, bench *Bench) string {
	var b strings.Builder
	writeFrontMatter(&b, m)
	first := m.Models[0]
	title := first.Title
	if title == "" {
		title = first.Name
	}
	fmt.Fprintf(&b, "# %s GGUF\n\n", title)
	b.WriteString(intro(m))

	b.WriteString("## Files\n\n")
	b.WriteString(filesBegin + "\n")
	b.WriteString("| File | Quantization | Size | Bytes | SHA256 |\n|---|---|---|---:|---|\n")
	for _, mod := range m.Models {
		for _, f := range mod.Files {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %d | `%s` |\n", f.Name, mod.Quantization, FormatSize(f.Size), f.Size, f.SHA256)
		}
	}
	b.WriteString(filesEnd + "\n\n")
	if anySplit(m) {
		fmt.Fprintf(&b, "Files larger than %s are split into shards in llama.cpp's `gguf-split` format "+
			"(`NAME-00001-of-0000N.gguf`, whole tensors per shard): download every shard of a model "+
			"and give llama.cpp the first; it loads the others from the same folder.\n", FormatSize(m.SplitMaxSize))
	}
	b.WriteString("`sha256sum -c SHA256SUMS` checks a download; `gguftool verify DIR` checks the whole folder.\n\n")
	b.WriteString("Tensor types (share of each model's bytes):\n\n")
	for _, mod := range m.Models {
		fmt.Fprintf(&b, "- `%s` (%s, %s parameters, %s): %s\n", mod.Name, mod.Quantization, countLabel(mod.Parameters), FormatSize(mod.Size), typeShares(mod))
	}
	b.WriteString("\n")

	writeMemory(&b, m)
	writeHowToRun(&b, m)
	writeHowMade(&b, m)
	if bench != nil {
		writeBench(&b, bench)
	}
	return b.String()
}

func writeFrontMatter(b *strings.Builder, m *Manifest) {
	b.WriteString("---\n")
	if m.License != "" {
		fmt.Fprintf(b, "license: %s\n", yamlString(m.License))
		if m.Source != nil && m.License == "other" {
			if m.Source.LicenseName != "" {
				fmt.Fprintf(b, "license_name: %s\n", yamlString(m.Source.LicenseName))
			}
			if m.Source.LicenseLink != "" {
				fmt.Fprintf(b, "license_link: %s\n", yamlString(m.Source.LicenseLink))
			}
		}
	}
	if len(m.BaseModel) > 0 {
		b.WriteString("base_model:\n")
		for _, bm := range m.BaseModel {
			fmt.Fprintf(b, "- %s\n", yamlString(bm))
		}
		b.WriteString("base_model_relation: quantized\n")
	}
	b.WriteString("tags:\n")
	for _, t := range cardTags {
		fmt.Fprintf(b, "- %s\n", yamlString(t))
	}
	b.WriteString("pipeline_tag: text-generation\n")
	b.WriteString("quantized_by: gguftool\n")
	b.WriteString("---\n\n")
}

func intro(m *Manifest) string {
	var b strings.Builder
	first := m.Models[0]
	b.WriteString("GGUF files")
	if len(m.BaseModel) > 0 {
		fmt.Fprintf(&b, " of [%s](https://huggingface.co/%s)", m.BaseModel[0], m.BaseModel[0])
	}
	fmt.Fprintf(&b, " for llama.cpp and gguftool. Architecture `%s`", first.Architecture)
	if e := first.Experts; e != nil {
		fmt.Fprintf(&b, ", a Mixture of Experts: %d routed experts per MoE layer, %d active per token, in %d of %d layers", e.Count, e.Used, e.Layers, first.Layers)
	}
	b.WriteString(".")
	if e := first.Experts; e != nil && first.Size > 0 {
		fmt.Fprintf(&b, " The routed experts are %s of the %s `%s` and can stay in CPU memory; the other tensors, which go to the GPU (token embeddings excepted), total %s.",
			percent(e.Bytes, e.Bytes+e.NonExpBytes), FormatSize(first.Size), first.Name, FormatSize(e.NonExpBytes))
	}
	b.WriteString("\n\nEvery figure on this card was computed by gguftool from these files; nothing is estimated by hand.\n\n")
	return b.String()
}

func writeMemory(b *strings.Builder, m *Manifest) {
	planned := false
	for _, mod := range m.Models {
		planned = planned || len(mod.Memory) > 0
	}
	if !planned {
		return
	}
	b.WriteString("## Memory\n\n")
	b.WriteString("What gguftool's planner computes for each file (weights, KV cache in f16, compute buffers " +
		"and the planner's reserve for the CUDA context), rounded up. \"Experts in CPU memory\" keeps every " +
		"routed-expert tensor (`*_exps`) in RAM and everything else on the GPU, like llama.cpp's `--cpu-moe`; " +
		"\"everything on the GPU\" offloads all layers (token embeddings always stay in RAM, as in llama.cpp).\n\n")
	b.WriteString("| Model | Context | VRAM, experts in CPU memory | RAM, experts in CPU memory | VRAM, everything on the GPU | RAM, everything on the GPU |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|\n")
	for _, mod := range m.Models {
		for _, mem := range mod.Memory {
			ctx := fmt.Sprint(mem.Context)
			if mod.TrainContext > 0 && mem.Context > mod.TrainContext {
				ctx += fmt.Sprintf(" (trained for %d)", mod.TrainContext)
			}
			fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s | %s |\n", mod.Name, ctx,
				FormatMem(mem.VRAMExpertsOnCPU), FormatMem(mem.HostExpertsOnCPU), FormatMem(mem.VRAMAllOnGPU), FormatMem(mem.HostAllOnGPU))
		}
	}
	b.WriteString("\n")
}

func writeHowToRun(b *strings.Builder, m *Manifest) {
	b.WriteString("## How to run\n\n")
	for _, mod := range m.Models {
		first := mod.Files[0].Name
		fmt.Fprintf(b, "### `%s`\n\n", mod.Name)
		ctx := 4096
		if len(mod.Memory) > 0 {
			ctx = mod.Memory[0].Context
		}
		b.WriteString("gguftool (attention on the GPU, experts in CPU memory):\n\n```sh\n")
		if mod.Run != nil {
			fmt.Fprintf(b, "gguftool run %s --vram %s --ctx %d -p \"Hello\"\n", shellQuote(first), gibFlag(mod.Run.VRAM), ctx)
		} else {
			fmt.Fprintf(b, "gguftool run %s --ctx %d -p \"Hello\"\n", shellQuote(first), ctx)
		}
		b.WriteString("```\n\n")
		if mod.Run != nil {
			fmt.Fprintf(b, "llama.cpp, with the placement gguftool plans for %s of VRAM (%s on the GPU):\n\n```sh\n",
				gibFlag(mod.Run.VRAM), FormatMem(mod.Run.GPUBytes))
			fmt.Fprintf(b, "llama-cli -m %s %s\n```\n\n", shellQuote(first), joinArgs(withContext(mod.Run.LlamaCppArgs, ctx)))
		} else {
			fmt.Fprintf(b, "llama.cpp, every routed expert in CPU memory:\n\n```sh\nllama-cli -m %s -c %d -ngl 999 --cpu-moe\n```\n\n", shellQuote(first), ctx)
		}
		b.WriteString("Ollama")
		if mod.Split {
			b.WriteString(" (it does not load split GGUF files: merge the shards first with " +
				"`llama-gguf-split --merge " + shellQuote(first) + " " + shellQuote(mod.Name+".gguf") + "`)")
			first = mod.Name + ".gguf"
		}
		fmt.Fprintf(b, ", `Modelfile`:\n\n```\nFROM ./%s\nPARAMETER num_ctx %d\n```\n\n", first, ctx)
		fmt.Fprintf(b, "```sh\nollama create %s -f Modelfile\n```\n\n", strings.ToLower(mod.Name))
	}
}

func writeHowMade(b *strings.Builder, m *Manifest) {
	b.WriteString("## How it was made\n\n")
	fmt.Fprintf(b, "- gguftool %s\n", m.GGUFToolVersion)
	if s := m.Source; s != nil {
		fmt.Fprintf(b, "- source checkpoint `%s`", s.Name)
		if len(s.Architectures) > 0 {
			fmt.Fprintf(b, " (%s)", strings.Join(s.Architectures, ", "))
		}
		fmt.Fprintf(b, ", `config.json` sha256 `%s`\n", s.ConfigSHA256)
	}
	for _, mod := range m.Models {
		fmt.Fprintf(b, "- `%s`: ", mod.Name)
		if mod.FileType != nil {
			fmt.Fprintf(b, "general.file_type %d (%s)", *mod.FileType, mod.Quantization)
		} else {
			fmt.Fprintf(b, "no general.file_type (mostly %s)", mod.Quantization)
		}
		if mod.Recipe != "" {
			fmt.Fprintf(b, ", recipe `%s`", mod.Recipe)
		}
		for _, k := range mod.ToolKeys {
			if k.Key != "gguftool.quantize.recipe" {
				fmt.Fprintf(b, ", `%s` = `%s`", k.Key, k.Value)
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "- `manifest.json` holds these facts in machine-readable form (schema `%s`).\n\n", m.Schema)
}

func writeBench(b *strings.Builder, bench *Bench) {
	b.WriteString("## Benchmark\n\n")
	b.WriteString("Measured with `gguftool bench --json`")
	if bench.Model != "" {
		fmt.Fprintf(b, " on `%s`", bench.Model)
	}
	b.WriteString("; figures as the tool reported them.\n\n")
	for _, f := range bench.Facts {
		fmt.Fprintf(b, "- %s: %s\n", f.Key, f.Value)
	}
	if len(bench.Facts) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("Machine:\n\n")
	for _, f := range bench.Machine {
		fmt.Fprintf(b, "- %s: %s\n", f.Key, f.Value)
	}
	b.WriteString("\n|")
	for _, c := range bench.Columns {
		fmt.Fprintf(b, " %s |", c)
	}
	b.WriteString("\n|")
	for range bench.Columns {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range bench.Rows {
		b.WriteString("|")
		for _, c := range bench.Columns {
			fmt.Fprintf(b, " %s |", strings.ReplaceAll(r[c], "|", `\|`))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func anySplit(m *Manifest) bool {
	for _, mod := range m.Models {
		if mod.Split {
			return true
		}
	}
	return false
}

func typeShares(mod *Model) string {
	var total int64
	for _, t := range mod.Types {
		total += t.Bytes
	}
	var parts []string
	for _, t := range mod.Types {
		parts = append(parts, fmt.Sprintf("%s %s (%d tensors)", t.Type, percent(t.Bytes, total), t.Tensors))
	}
	return strings.Join(parts, ", ")
}

func percent(x, total int64) string {
	if total == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(x)/float64(total))
}

// countLabel prints a parameter count as the Hub does (1.2M, 20.9B).
func countLabel(n uint64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// gibFlag prints a budget for --vram: whole MiB or a GiB figure that the
// size parser reads back exactly.
func gibFlag(n int64) string {
	if n%(1<<30) == 0 {
		return fmt.Sprintf("%dGiB", n>>30)
	}
	return fmt.Sprintf("%dMiB", (n+(1<<20)-1)>>20)
}

// withContext adds -c to llama.cpp arguments that lack it.
func withContext(args []string, ctx int) []string {
	for _, a := range args {
		if a == "-c" || a == "--ctx-size" {
			return args
		}
	}
	return append([]string{"-c", fmt.Sprint(ctx)}, args...)
}

func joinArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}
