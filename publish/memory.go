package publish

import "github.com/gguftool/gguftool/gguf"

// Memory is what the planner says one model needs at one context size.
// All figures are bytes.
type Memory struct {
	Context int `json:"context"`

	// VRAMExpertsOnCPU is the GPU memory with every routed-expert tensor in
	// CPU memory and everything else that llama.cpp offloads on the GPU;
	// HostExpertsOnCPU is the CPU memory that placement needs.
	VRAMExpertsOnCPU int64 `json:"vram_experts_on_cpu_bytes"`
	HostExpertsOnCPU int64 `json:"host_experts_on_cpu_bytes"`

	// VRAMAllOnGPU is the GPU memory with every offloadable tensor on the
	// GPU; HostAllOnGPU is what stays in CPU memory then (token embeddings).
	VRAMAllOnGPU int64 `json:"vram_all_on_gpu_bytes"`
	HostAllOnGPU int64 `json:"host_all_on_gpu_bytes"`
}

// Placement is the planner's answer for one VRAM budget: the flags that make
// llama.cpp place the tensors the same way, and the GPU bytes it predicts.
type Placement struct {
	Context      int      `json:"context"`
	VRAM         int64    `json:"vram_budget_bytes"`
	GPUBytes     int64    `json:"gpu_total_bytes"`
	HostBytes    int64    `json:"host_total_bytes"`
	LlamaCppArgs []string `json:"llama_cpp_args"`
}

// Planner computes the memory figures of the model card. The command line
// wires in the project's planner; tests may use a fixed one.
type Planner interface {
	// Memory gives the three placements' figures at context nCtx.
	Memory(m *gguf.File, nCtx int) (Memory, error)
	// Place plans the model under a VRAM budget at context nCtx.
	Place(m *gguf.File, nCtx int, vram int64) (Placement, error)
}
