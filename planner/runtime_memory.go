package planner

import (
	"fmt"
	"strings"
)

// Runtimes a plan can target. llama.cpp (the default) is modelled with
// llama.cpp's own buffers (offload.md §6); gguftool is gguftool's bundled
// runtime (`gguftool run`), whose GPU allocations differ: see
// GguftoolMemory and docs/planner.md.
const (
	RuntimeLlamaCpp = "llama.cpp"
	RuntimeGguftool = "gguftool"
)

// GguftoolReserve is the VRAM of gguftool's CUDA context with its kernels
// loaded, before any buffer. ops.Load lowers the per-thread stack limit to
// 256 B (the kernels need at most 32), which shrinks the driver's local
// memory reservation: 348,979,200 B (332.8 MiB) measured on the H200 (the
// driver's default stack: 556,597,248 B, 530.8 MiB; 532.8 MiB on the lent
// H100, so about 335 MiB there), rounded up to 346 MiB. gguftool links no
// cuBLAS and keeps no allocator pool, so unlike DefaultReserve nothing else
// hides in it; its scratch buffers and allocation rounding are modelled in
// GguftoolMemory.
const GguftoolReserve = 346 * mib

// hostMapPerByte: registering host memory for the GPU (cuMemHostRegister of
// the mapped model file, when experts are streamed from it) costs device
// memory for its page tables, about 8 B per 4 KiB page: measured 20.7 MiB
// for a 12.1 GB file and 24 MiB for 13.8 GB (H200, gpt-oss-20b layouts).
const hostMapPerByte = 512

// gpuPage is the granularity in which the CUDA driver hands out device
// memory for buffers of this size class.
const gpuPage = 2 * mib

// minScratch is the smallest scratch buffer runtime/gpu allocates.
const minScratch = 1 * mib

func roundPage(n int64) int64 { return (n + gpuPage - 1) / gpuPage * gpuPage }

// GguftoolMemory is what gguftool's runtime allocates on the GPU besides
// the placed weights and the KV cache, for one batch of UBatch tokens.
type GguftoolMemory struct {
	// Scratch: activations of one batch (runtime/gpu's scratch slots, each
	// at least 1 MiB, whole 2 MiB pages), the last position's logits.
	Scratch int64 `json:"scratch_bytes"`
	// Staging: the area CPU-resident experts are copied into per layer
	// (StagingExperts experts of each expert matrix, and their biases).
	Staging        int64 `json:"staging_bytes"`
	StagingExperts int   `json:"staging_experts"`
	// Vectors: norms, biases, sinks and rope tables as float32, packed in
	// 2 MiB chunks (expert biases of every expert included).
	Vectors int64 `json:"vectors_bytes"`
	// Rounding: each weight tensor is one allocation rounded up to 2 MiB.
	Rounding int64 `json:"rounding_bytes"`
	// HostMap: the GPU page tables of the registered model file, when
	// experts are streamed from it (hostMapPerByte).
	HostMap int64 `json:"host_map_bytes,omitempty"`
	// KVOnHost: the runtime keeps this architecture's KV cache in CPU
	// memory (the per-matrix backend; the GPU executors keep it on the GPU).
	KVOnHost bool `json:"kv_on_host"`
	// KVType is the element type of the GPU KV cache: "f16" (sliding-window
	// layers a ring of window + ubatch cells); absent in manifests written
	// before it, whose runtime kept float32 for every position.
	KVType string `json:"kv_type,omitempty"`
}

// Total is the sum of the GPU parts.
func (g *GguftoolMemory) Total() int64 {
	return g.Scratch + g.Staging + g.Vectors + g.Rounding + g.HostMap
}

// gguftoolExecutor reports whether gguftool runs arch with its whole-model
// GPU executor (KV cache and every op on the GPU; runtime/gpu.HasExecutor)
// rather than the per-matrix backend.
func gguftoolExecutor(arch string) bool {
	return arch == "gpt-oss" || arch == "deepseek" || arch == "deepseek2" || arch == "phimoe"
}

// GguftoolKV is gguftool's KV cache for ctx positions evaluated in passes
// of at most ubatch tokens (runtime/gpu's KVCache): keys and values in half
// precision, full-attention layers a cell per position, sliding-window
// layers a ring of min(ctx, window + ubatch) cells (a pass stores all its
// rows before its queries read them, so the ring holds the window of the
// pass's first query plus the pass), MLA layers the latent and rope rows
// only. The whole cache is one allocation (its page rounding is counted in
// the compute part's rounding).
func (hp *HParams) GguftoolKV(ctx, ubatch int) []LayerKV {
	out := make([]LayerKV, hp.Layers)
	for il := range out {
		var k, v int64
		if hp.MLA {
			k = int64(hp.KVLoraRank + hp.RopeDim)
		} else {
			nkv := hp.HeadsKV[il]
			k, v = nkv*int64(hp.KeyLen), nkv*int64(hp.ValLen)
		}
		sliding := hp.SWALayers[il] && hp.SWA > 0
		cells := ctx
		if sliding {
			cells = min(ctx, hp.SWA+max(ubatch, 1))
		}
		out[il] = LayerKV{Cells: cells, BytesPerToken: 2 * (k + v), Sliding: sliding}
	}
	return out
}

func scratchBuf(floats int64) int64 { return roundPage(max(4*floats, minScratch)) }

// gguftoolMemory models runtime/gpu's allocations for model m (see the
// scratch slots of runtime/gpu/gptoss.go and attention.go; a test there
// checks this model against what the backend really allocates). staging
// is the staging area's experts per matrix (0: none needed).
func gguftoolMemory(m *Model, hp *HParams, ub, staging int) *GguftoolMemory {
	g := &GguftoolMemory{StagingExperts: staging, KVOnHost: !gguftoolExecutor(hp.Arch)}
	if staging > 0 {
		g.HostMap = roundPage(m.Size / hostMapPerByte)
	}
	if !g.KVOnHost {
		g.KVType = "f16"
	}
	n := int64(ub)
	d, qw := int64(hp.Embd), int64(hp.Heads*hp.KeyLen)
	var vecBytes int64
	var vecCount int64
	for i := range m.Tensors {
		t := &m.Tensors[i]
		if len(t.Dims) == 1 || strings.HasSuffix(t.Name, ".bias") {
			vecBytes += 4 * int64(t.NumElements())
			vecCount++
		}
	}
	if g.KVOnHost {
		// runtime.Backend: one device input and output buffer sized for the
		// widest product of the batch.
		var cols, rows int64
		for i := range m.Tensors {
			t := &m.Tensors[i]
			if len(t.Dims) >= 2 && KindOf(t.Name) != KindEmbedding {
				cols, rows = max(cols, int64(t.Dims[0])), max(rows, int64(t.Dims[1]))
			}
		}
		g.Scratch = scratchBuf(n*cols) + scratchBuf(n*rows)
		return g
	}
	k, nExp, ff := int64(hp.ExpertsUsed), int64(hp.Experts), int64(hp.ExpertFF)
	np := n * k
	q1, q2 := n*qw, n*qw
	// The slots' sizes in floats (runtime/gpu's Executor.Reserve), packed
	// into one allocation.
	slots := []int64{n * d, n * d, n, // attention input, output, positions
		n * d, n * nExp, np, np, int64(hp.Vocab), // hidden, router logits, ids, weights, last row's logits
		max(np, 4*k)} // expert slots of decode
	if hp.MLA {
		// runtime/gpu/mla.go: slot 1 the queries (H·(nope+rope)), slot 2
		// the absorbed queries (H·(rank+rope)), then the latent output
		// (H·rank; it also carries the new latent rows before they are
		// stored as halves), the decompressed heads (H·dv) and q_a
		// (q_lora_rank).
		nope, dv, qr := mlaDims(m)
		h, rank, rope := int64(hp.Heads), int64(hp.KVLoraRank), int64(hp.RopeDim)
		q1 = max(q1, n*h*(nope+rope))
		q2 = max(q1, n*h*(rank+rope))
		slots = append(slots, n*max(h*rank, rank+rope), n*h*dv)
		if qr > 0 {
			slots = append(slots, n*qr)
		}
	}
	slots = append(slots, q1, q2)
	if np > 32 { // grouped experts: index, gathered inputs, gate, up, outputs twice
		slots = append(slots, 5*np, np*d, np*ff, np*ff, np*d, np*d) // idx: 2·np, then ≤ np group triples
	} else {
		slots = append(slots, np*ff, np*ff, np*d)
	}
	if hp.DenseFF > 0 { // dense or shared-expert FFN: gate and up
		slots = append(slots, n*int64(hp.DenseFF), n*int64(hp.DenseFF))
	}
	var packed int64
	for _, f := range slots {
		packed += align256(max(4*f, 4))
	}
	g.Scratch = roundPage(packed)
	g.Vectors = roundPage(vecBytes + 256*vecCount)
	if staging > 0 {
		// Sized by the widest layer's experts of each matrix (a recipe may
		// give some layers a larger type), as runtime/gpu allocates it.
		for _, role := range []string{"gate", "up", "down"} {
			var expBytes, rows int64
			for i := range m.Tensors {
				t := &m.Tensors[i]
				if strings.HasSuffix(t.Name, ".ffn_"+role+"_exps.weight") && len(t.Dims) == 3 && t.Dims[2] > 0 {
					e := int64(t.Dims[2])
					expBytes, rows = max(expBytes, int64(t.Size())/e), max(rows, int64(t.Dims[1]))
				}
			}
			if expBytes > 0 {
				g.Staging += roundPage(expBytes*int64(staging)) + roundPage(4*rows*int64(staging))
			}
		}
	}
	return g
}

// mlaDims reads MLA's per-head nope and value widths and the query LoRA
// rank (0: the lite form, no attn_q_a) from the tensor shapes.
func mlaDims(m *Model) (nope, dv, qr int64) {
	for i := range m.Tensors {
		t := &m.Tensors[i]
		switch {
		case strings.HasSuffix(t.Name, ".attn_k_b.weight") && len(t.Dims) >= 1:
			nope = int64(t.Dims[0])
		case strings.HasSuffix(t.Name, ".attn_v_b.weight") && len(t.Dims) >= 2:
			dv = int64(t.Dims[1])
		case strings.HasSuffix(t.Name, ".attn_q_a.weight") && len(t.Dims) >= 2:
			qr = max(qr, int64(t.Dims[1]))
		}
	}
	return nope, dv, qr
}

func align256(n int64) int64 { return (n + 255) / 256 * 256 }

// weightRounding is the allocation rounding of the weight tensors the
// runtime uploads: the executors pack their matrices into one allocation
// (runtime/gpu's UploadPacked: each 256-byte aligned, the whole rounded to
// a page; vectors live in the packed arena), the per-matrix backend
// uploads every tensor as a buffer of its own.
func weightRounding(m *Model, hp *HParams, onGPU func(i int) bool) int64 {
	var r, packed, raw int64
	for i := range m.Tensors {
		t := &m.Tensors[i]
		if !onGPU(i) {
			continue
		}
		s := int64(t.Size())
		if !gguftoolExecutor(hp.Arch) {
			r += roundPage(s) - s
			continue
		}
		if len(t.Dims) < 2 || strings.HasSuffix(t.Name, ".bias") {
			continue
		}
		packed += align256(s)
		raw += s
	}
	return r + roundPage(packed) - raw
}

func (g *GguftoolMemory) describe() string {
	kv := "KV cache on the GPU (f16, sliding-window layers a ring of window + ubatch cells)"
	if g.KVOnHost {
		kv = "KV cache in CPU memory"
	}
	return fmt.Sprintf("gguftool runtime: scratch %s, expert staging %s (%d experts per matrix), vectors %s, allocation rounding %s, host-map page tables %s; %s",
		FormatSize(g.Scratch), FormatSize(g.Staging), g.StagingExperts, FormatSize(g.Vectors), FormatSize(g.Rounding), FormatSize(g.HostMap), kv)
}
