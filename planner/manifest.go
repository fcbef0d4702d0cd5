package planner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// Schema is the manifest's version tag.
const Schema = "gguftool.plan/v1"

// Device kinds.
const (
	KindGPU = "gpu"
	KindCPU = "cpu"
)

// Manifest is a placement: which byte ranges of the model file live on
// which device, what each device needs in total, and the llama.cpp flags
// for the same placement. Its JSON form is documented in docs/planner.md.
type Manifest struct {
	Schema string    `json:"schema"`
	Model  ModelInfo `json:"model"`
	Budget Budget    `json:"budget"`
	// Offsets says how tensor offsets are counted: always "file"
	// (absolute byte offsets in the file named by Model.Path, or in shard
	// Tensor.Shard of a split model).
	Offsets      string      `json:"offsets"`
	Devices      []Device    `json:"devices"`
	Tensors      []Placement `json:"tensors"`
	LlamaCppArgs []string    `json:"llama_cpp_args"`
	// ExpertGPUShare is the expected fraction of expert selections (over
	// all MoE layers) that find their expert in GPU memory, computed from
	// the profile, or from uniform routing without one.
	ExpertGPUShare float64  `json:"expert_gpu_share"`
	Notes          []string `json:"notes,omitempty"`
	// Gguftool details the GPU compute part for the gguftool runtime.
	Gguftool *GguftoolMemory `json:"gguftool,omitempty"`
	Layers   []LayerReport   `json:"layers"`
}

// ModelInfo identifies the planned model.
type ModelInfo struct {
	Path         string `json:"path"`
	Size         int64  `json:"size"`
	Architecture string `json:"architecture"`
	Layers       int    `json:"layers"`
	Experts      int    `json:"experts"`
	ExpertsUsed  int    `json:"experts_used"`
}

// Budget is what the plan was made for.
type Budget struct {
	VRAMBytes    int64  `json:"vram_bytes"`
	Context      int    `json:"context"`
	UBatch       int    `json:"ubatch"`
	CacheType    string `json:"cache_type"`
	FlashAttn    bool   `json:"flash_attn"`
	ReserveBytes int64  `json:"reserve_bytes"`
	PerExpert    bool   `json:"per_expert"`
	Profile      string `json:"profile,omitempty"`
	// CPUMoE: the experts of layers 0..CPUMoE-1 were kept in CPU memory
	// (Options.CPUMoE).
	CPUMoE int `json:"n_cpu_moe,omitempty"`
	// Runtime is the executor the plan was made for ("" = llama.cpp).
	Runtime string `json:"runtime,omitempty"`
	// StagingExperts is the gguftool runtime's staging area (experts per
	// matrix) the GPU figures assume.
	StagingExperts int `json:"staging_experts,omitempty"`
}

// Device is one memory pool and what the plan puts in it.
type Device struct {
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	WeightsBytes int64  `json:"weights_bytes"`
	KVBytes      int64  `json:"kv_bytes"`
	ComputeBytes int64  `json:"compute_bytes"`
	ReserveBytes int64  `json:"reserve_bytes"`
	TotalBytes   int64  `json:"total_bytes"`
}

// Placement puts one tensor, or one expert's slice of a stacked expert
// tensor, on a device. Offset is absolute in the file.
type Placement struct {
	Name   string `json:"name"`
	Device string `json:"device"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	// Expert is set for the slice of one expert of a stacked *_exps tensor.
	Expert *int `json:"expert,omitempty"`
	Shard  int  `json:"shard,omitempty"`
	Kind   Kind `json:"kind"`
	Layer  int  `json:"layer"` // -1 for global tensors
}

// LayerReport summarizes where one layer's experts live.
type LayerReport struct {
	Layer        int   `json:"layer"`
	ExpertsOnGPU int   `json:"experts_on_gpu"` // whole experts (all their tensors)
	GPUBytes     int64 `json:"gpu_expert_bytes"`
	CPUBytes     int64 `json:"cpu_expert_bytes"`
	KVBytes      int64 `json:"kv_bytes"`
	KVCells      int   `json:"kv_cells"`
}

// Device returns the named device.
func (m *Manifest) Device(name string) (*Device, bool) {
	for i := range m.Devices {
		if m.Devices[i].Name == name {
			return &m.Devices[i], true
		}
	}
	return nil, false
}

// GPU returns the first GPU device, if any.
func (m *Manifest) GPU() (*Device, bool) {
	for i := range m.Devices {
		if m.Devices[i].Kind == KindGPU {
			return &m.Devices[i], true
		}
	}
	return nil, false
}

// Load reads and validates a manifest.
func Load(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Decode reads and validates a manifest from r.
func Decode(r io.Reader) (*Manifest, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Write writes the manifest as indented JSON.
func (m *Manifest) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}

// Validate checks the manifest on its own: schema, devices, totals, the
// budget, and that no two placements overlap.
func (m *Manifest) Validate() error {
	if m.Schema != Schema {
		return fmt.Errorf("manifest schema %q, want %q", m.Schema, Schema)
	}
	if m.Offsets != "file" {
		return fmt.Errorf("manifest offsets %q, want \"file\"", m.Offsets)
	}
	names := map[string]*Device{}
	sums := map[string]int64{}
	for i := range m.Devices {
		d := &m.Devices[i]
		if d.Name == "" || names[d.Name] != nil {
			return fmt.Errorf("device %d: empty or duplicate name %q", i, d.Name)
		}
		if d.Kind != KindGPU && d.Kind != KindCPU {
			return fmt.Errorf("device %s: kind %q, want gpu or cpu", d.Name, d.Kind)
		}
		for _, x := range []int64{d.WeightsBytes, d.KVBytes, d.ComputeBytes, d.ReserveBytes} {
			if x < 0 {
				return fmt.Errorf("device %s: negative byte count", d.Name)
			}
		}
		if t := d.WeightsBytes + d.KVBytes + d.ComputeBytes + d.ReserveBytes; t != d.TotalBytes {
			return fmt.Errorf("device %s: total_bytes %d is not the sum of its parts %d", d.Name, d.TotalBytes, t)
		}
		if d.Kind == KindGPU && m.Budget.VRAMBytes > 0 && d.TotalBytes > m.Budget.VRAMBytes {
			return fmt.Errorf("device %s: total %d bytes exceeds the VRAM budget %d", d.Name, d.TotalBytes, m.Budget.VRAMBytes)
		}
		names[d.Name] = d
	}
	type span struct {
		shard      int
		start, end int64
		name       string
	}
	spans := make([]span, 0, len(m.Tensors))
	for i, p := range m.Tensors {
		if names[p.Device] == nil {
			return fmt.Errorf("tensor %d (%s): unknown device %q", i, p.Name, p.Device)
		}
		if p.Offset < 0 || p.Size <= 0 {
			return fmt.Errorf("tensor %s: bad byte range offset %d size %d", p.Name, p.Offset, p.Size)
		}
		if p.Expert != nil && *p.Expert < 0 {
			return fmt.Errorf("tensor %s: negative expert index", p.Name)
		}
		sums[p.Device] += p.Size
		spans = append(spans, span{p.Shard, p.Offset, p.Offset + p.Size, p.Name})
	}
	for name, d := range names {
		if sums[name] != d.WeightsBytes {
			return fmt.Errorf("device %s: weights_bytes %d but its tensors hold %d", name, d.WeightsBytes, sums[name])
		}
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].shard != spans[j].shard {
			return spans[i].shard < spans[j].shard
		}
		return spans[i].start < spans[j].start
	})
	for i := 1; i < len(spans); i++ {
		a, b := spans[i-1], spans[i]
		if a.shard == b.shard && b.start < a.end {
			return fmt.Errorf("tensors %s and %s overlap in the file", a.name, b.name)
		}
	}
	return nil
}

// ErrMismatch is wrapped by CheckModel when a manifest does not describe
// the given model.
var ErrMismatch = errors.New("manifest does not match the model")

// CheckModel verifies that the manifest places every tensor of model
// exactly once: each tensor is either one whole placement at its offset,
// or one slice per expert that together cover it exactly.
func (m *Manifest) CheckModel(model *Model) error {
	byName := map[string][]Placement{}
	for _, p := range m.Tensors {
		byName[p.Name] = append(byName[p.Name], p)
	}
	for i := range model.Tensors {
		t := &model.Tensors[i]
		ps := byName[t.Name]
		delete(byName, t.Name)
		size := int64(t.Size())
		if len(ps) == 0 {
			return fmt.Errorf("%w: tensor %s is not placed", ErrMismatch, t.Name)
		}
		if len(ps) == 1 && ps[0].Expert == nil {
			if ps[0].Offset != t.FileOffset || ps[0].Size != size || ps[0].Shard != t.Shard {
				return fmt.Errorf("%w: tensor %s at %d+%d, file has %d+%d", ErrMismatch, t.Name, ps[0].Offset, ps[0].Size, t.FileOffset, size)
			}
			continue
		}
		e := 0
		if len(t.Dims) >= 2 {
			e = int(t.Dims[len(t.Dims)-1])
		}
		if !IsExpert(t.Name) || e == 0 || len(ps) != e {
			return fmt.Errorf("%w: tensor %s has %d slices; only an expert tensor may be sliced, into its %d experts", ErrMismatch, t.Name, len(ps), e)
		}
		per := size / int64(e)
		seen := make([]bool, e)
		for _, p := range ps {
			if p.Expert == nil || *p.Expert >= e || seen[*p.Expert] {
				return fmt.Errorf("%w: tensor %s: slice with missing, out-of-range or repeated expert index", ErrMismatch, t.Name)
			}
			x := *p.Expert
			seen[x] = true
			if p.Offset != t.FileOffset+int64(x)*per || p.Size != per || p.Shard != t.Shard {
				return fmt.Errorf("%w: tensor %s expert %d at %d+%d, want %d+%d", ErrMismatch, t.Name, x, p.Offset, p.Size, t.FileOffset+int64(x)*per, per)
			}
		}
	}
	for name := range byName {
		return fmt.Errorf("%w: manifest places %s, which the model does not have", ErrMismatch, name)
	}
	return nil
}
