package planner

import (
	"fmt"
	"io"
	"strings"
)

// Summary writes a readable account of the plan: per device what goes
// there and why, the expert layers on each side, and the llama.cpp command.
func (m *Manifest) Summary(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	mi, bu := m.Model, m.Budget
	p("model    %s (%s, %s, %d layers, %d experts, %d active)\n", mi.Path, FormatSize(mi.Size), mi.Architecture,
		mi.Layers, mi.Experts, mi.ExpertsUsed)
	fa := "on"
	if !bu.FlashAttn {
		fa = "off"
	}
	mode := "whole expert tensors"
	if bu.PerExpert {
		mode = "single experts"
		if bu.Profile != "" {
			mode += " ranked by " + bu.Profile
		}
	}
	p("budget   %s VRAM, context %d, ubatch %d, KV cache %s, flash attention %s, placing %s\n\n",
		FormatSize(bu.VRAMBytes), bu.Context, bu.UBatch, bu.CacheType, fa, mode)

	kinds := map[string]map[Kind]int64{}
	for _, t := range m.Tensors {
		if kinds[t.Device] == nil {
			kinds[t.Device] = map[Kind]int64{}
		}
		kinds[t.Device][t.Kind] += t.Size
	}
	for _, d := range m.Devices {
		if d.Kind == KindGPU {
			p("%s (GPU)  %s of %s", d.Name, FormatSize(d.TotalBytes), FormatSize(bu.VRAMBytes))
			p(", %s free\n", FormatSize(bu.VRAMBytes-d.TotalBytes))
		} else {
			p("%s (host memory)  %s\n", d.Name, FormatSize(d.TotalBytes))
		}
		k := kinds[d.Name]
		var parts []string
		for _, kind := range []Kind{KindOutput, KindAttention, KindShared, KindOther, KindEmbedding, KindExperts} {
			if k[kind] == 0 {
				continue
			}
			s := fmt.Sprintf("%s %s", kind, FormatSize(k[kind]))
			switch {
			case kind == KindEmbedding:
				s += " (looked up by row, kept on the CPU as llama.cpp does)"
			case kind == KindExperts:
				s += " (" + m.expertLayers(d.Kind == KindGPU) + ")"
			}
			parts = append(parts, s)
		}
		p("  weights  %9s  %s\n", FormatSize(d.WeightsBytes), strings.Join(parts, ", "))
		if d.KVBytes > 0 {
			ct := bu.CacheType
			if bu.Runtime == RuntimeGguftool {
				ct = "f32 (gguftool runtime)" // manifests before kv_type
				if m.Gguftool != nil && m.Gguftool.KVType != "" {
					ct = m.Gguftool.KVType + " (gguftool runtime)"
				}
			}
			p("  KV cache %9s  %s, %s\n", FormatSize(d.KVBytes), m.kvShape(), ct)
		}
		if d.ComputeBytes > 0 {
			if d.Kind == KindGPU && m.Gguftool != nil {
				g := m.Gguftool
				p("  compute  %9s  gguftool runtime: %d-token batch scratch %s, expert staging %s, vectors %s, allocation rounding %s\n",
					FormatSize(d.ComputeBytes), bu.UBatch, FormatSize(g.Scratch), FormatSize(g.Staging), FormatSize(g.Vectors), FormatSize(g.Rounding))
			} else if d.Kind == KindGPU {
				p("  compute  %9s  graph of one %d-token ubatch (logits, activations, mask)\n", FormatSize(d.ComputeBytes), bu.UBatch)
			} else {
				p("  compute  %9s  activations of the expert splits\n", FormatSize(d.ComputeBytes))
			}
		}
		if d.ReserveBytes > 0 {
			p("  reserve  %9s  CUDA context, workspaces and margin (--reserve)\n", FormatSize(d.ReserveBytes))
		}
	}
	p("\n%s\n", m.expertStory())
	src := "uniform routing"
	if bu.Profile != "" {
		src = "the profile"
	}
	p("expected share of expert selections served from GPU memory: %.1f%% (%s)\n", 100*m.ExpertGPUShare, src)
	for _, n := range m.Notes {
		p("note: %s\n", n)
	}
	p("\nllama.cpp: llama-server -m %s %s\n", shellQuote(mi.Path), shellJoin(m.LlamaCppArgs))
	_, err := io.WriteString(w, b.String())
	return err
}

func (m *Manifest) kvShape() string {
	full, swa := map[int]int{}, map[int]int{}
	for _, l := range m.Layers {
		if l.KVBytes == 0 {
			continue
		}
		if l.KVCells < pad256(m.Budget.Context) {
			swa[l.KVCells]++
		} else {
			full[l.KVCells]++
		}
	}
	var parts []string
	for c, n := range full {
		parts = append(parts, fmt.Sprintf("%d layers × %d cells", n, c))
	}
	for c, n := range swa {
		parts = append(parts, fmt.Sprintf("%d sliding-window layers × %d cells", n, c))
	}
	return strings.Join(parts, " + ")
}

// expertLayers lists the layers whose experts are (wholly or partly) on the
// GPU or the CPU side.
func (m *Manifest) expertLayers(gpu bool) string {
	var ls []int
	for _, l := range m.Layers {
		if gpu && l.GPUBytes > 0 || !gpu && l.CPUBytes > 0 {
			ls = append(ls, l.Layer)
		}
	}
	if len(ls) == 1 {
		return "layer " + ranges(ls)
	}
	return "layers " + ranges(ls)
}

func (m *Manifest) expertStory() string {
	var moe, whole, part []int
	for _, l := range m.Layers {
		if l.GPUBytes+l.CPUBytes == 0 {
			continue
		}
		moe = append(moe, l.Layer)
		switch {
		case l.CPUBytes == 0:
			whole = append(whole, l.Layer)
		case l.GPUBytes > 0:
			part = append(part, l.Layer)
		}
	}
	s := fmt.Sprintf("experts: %d of %d MoE layers wholly on the GPU", len(whole), len(moe))
	if len(whole) > 0 {
		s += " (" + ranges(whole) + ")"
	}
	for _, l := range part {
		r := m.Layers[l]
		s += fmt.Sprintf("; layer %d partly (%s on the GPU, %d of %d experts complete)", l, FormatSize(r.GPUBytes), r.ExpertsOnGPU, m.Model.Experts)
	}
	if len(whole) < len(moe) {
		s += "; the first layers' experts stay on the CPU, like --n-cpu-moe"
	}
	return s
}

// ranges prints sorted ints as "0-3, 7, 9-10".
func ranges(xs []int) string {
	var parts []string
	for i := 0; i < len(xs); {
		j := i
		for j+1 < len(xs) && xs[j+1] == xs[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, fmt.Sprint(xs[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", xs[i], xs[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\\'\"$`|&;()<>*?[]{}!#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}
