package publish

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/quant"
)

// Model is one published model: its files and what the card says about it.
type Model struct {
	Name         string       `json:"name"` // output prefix
	Title        string       `json:"title,omitempty"`
	Architecture string       `json:"architecture"`
	Quantization string       `json:"quantization"`        // llama-quantize preset name of general.file_type
	FileType     *uint32      `json:"file_type,omitempty"` // general.file_type
	Recipe       string       `json:"recipe,omitempty"`    // gguftool.quantize.recipe
	Parameters   uint64       `json:"parameters"`
	Layers       int          `json:"layers"`                   // blocks (ARCH.block_count)
	TrainContext int          `json:"context_length,omitempty"` // ARCH.context_length
	Tensors      int          `json:"tensors"`
	Experts      *Experts     `json:"experts,omitempty"`
	Types        []TypeShare  `json:"tensor_types"`
	Size         int64        `json:"size"`
	Files        []FileEntry  `json:"files"`
	Memory       []Memory     `json:"memory,omitempty"`
	Run          *Placement   `json:"run,omitempty"`
	Split        bool         `json:"split"`
	ToolKeys     []ToolKeyOut `json:"gguftool_keys,omitempty"`
}

// ToolKeyOut is a gguftool.* metadata key in the manifest.
type ToolKeyOut struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Experts summarizes the routed experts.
type Experts struct {
	Count       int64 `json:"count"`       // experts per MoE layer
	Used        int64 `json:"used"`        // active per token
	Layers      int   `json:"layers"`      // layers with *_exps tensors
	Bytes       int64 `json:"bytes"`       // all *_exps tensors
	NonExpBytes int64 `json:"other_bytes"` // everything else
}

// TypeShare is how much of a model one ggml type holds.
type TypeShare struct {
	Type    string `json:"type"`
	Tensors int    `json:"tensors"`
	Bytes   int64  `json:"bytes"`
}

// describeModel reads the card's facts from a model's header.
func describeModel(name string, m *gguf.File) *Model {
	md := m.Metadata
	out := &Model{Name: name, Tensors: len(m.Tensors)}
	out.Architecture, _ = md.String(gguf.KeyArchitecture)
	out.Title, _ = md.String("general.name")
	if n, err := md.Int(out.Architecture + ".block_count"); err == nil {
		out.Layers = int(n)
	}
	if n, err := md.Int(out.Architecture + ".context_length"); err == nil {
		out.TrainContext = int(n)
	}
	byType := map[gguf.Type]*TypeShare{}
	var exps Experts
	layers := map[int]bool{}
	for i := range m.Tensors {
		t := &m.Tensors[i]
		size := int64(t.Size())
		out.Parameters += t.NumElements()
		ts := byType[t.Type]
		if ts == nil {
			ts = &TypeShare{Type: t.Type.String()}
			byType[t.Type] = ts
		}
		ts.Tensors++
		ts.Bytes += size
		if t.IsExperts() {
			exps.Bytes += size
			layers[t.Layer()] = true
		} else {
			exps.NonExpBytes += size
		}
	}
	for _, ts := range byType {
		out.Types = append(out.Types, *ts)
	}
	sort.Slice(out.Types, func(i, j int) bool {
		if out.Types[i].Bytes != out.Types[j].Bytes {
			return out.Types[i].Bytes > out.Types[j].Bytes
		}
		return out.Types[i].Type < out.Types[j].Type
	})
	if len(layers) > 0 {
		exps.Layers = len(layers)
		exps.Count, _ = md.Int(out.Architecture + ".expert_count")
		exps.Used, _ = md.Int(out.Architecture + ".expert_used_count")
		out.Experts = &exps
	}
	if ft, err := md.Int(gguf.KeyFileType); err == nil {
		u := uint32(ft)
		out.FileType = &u
		out.Quantization = quant.Ftype(u).String()
	}
	if out.Quantization == "" && len(out.Types) > 0 {
		// No general.file_type: name the type holding most bytes.
		out.Quantization = out.Types[0].Type
	}
	out.Recipe, _ = md.String(quant.RecipeKey)
	for _, kv := range md.KVs() {
		if strings.HasPrefix(kv.Key, "gguftool.") {
			out.ToolKeys = append(out.ToolKeys, ToolKeyOut{kv.Key, valueText(md, kv.Key)})
		}
	}
	return out
}

// valueText prints a metadata value for the card.
func valueText(md *gguf.Metadata, key string) string {
	if s, err := md.String(key); err == nil {
		return s
	}
	if n, err := md.Int(key); err == nil {
		return fmt.Sprint(n)
	}
	if f, err := md.Float(key); err == nil {
		return fmt.Sprint(f)
	}
	if b, err := md.Bool(key); err == nil {
		return fmt.Sprint(b)
	}
	if ss, err := md.Strings(key); err == nil {
		return strings.Join(ss, ", ")
	}
	return "(array)"
}
