package gpu

import (
	"fmt"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/runtime"
)

// Options configure a GPU executor (NewExecutor, NewGPTOSS, NewDeepSeek,
// NewDeepSeek2, NewPhiMoE).
type Options struct {
	// ExpertsOnGPU uploads every expert. Otherwise the experts stay in host
	// memory (the mapped file, page-locked) and the ones the router picks
	// are copied to a staging area on the GPU for each layer and batch.
	ExpertsOnGPU bool
	// ExpertTensorOnGPU, when set, uploads the stacked expert tensors it
	// returns true for (a placement manifest's choice, e.g. the experts of
	// the last layers). A layer whose gate, up and down tensors are all on
	// the GPU computes in place; in a layer with only some of them there,
	// the picked experts of those are copied device to device into the
	// staging area, the others streamed from host memory.
	ExpertTensorOnGPU func(name string) bool
	// StagingExperts is how many experts per matrix the staging area holds
	// (default: expert_count, so any batch is one round; decode needs only
	// expert_used_count). Larger batches are processed in token chunks.
	StagingExperts int
	// GroupAbove: batches of more (token, slot) pairs than this run the
	// experts grouped — inputs gathered per expert, each expert's weights
	// decoded once per 8 of its tokens — instead of one product per pair
	// (default 32; negative: never).
	GroupAbove int
	// ExpertsOn chooses where the experts the router picks from host memory
	// are computed (ExpertsAuto by default: split between the CPU cores and
	// the GPU stream by measured cost; see cpu_experts.go).
	ExpertsOn ExpertPlace
	// CPUExperts, when positive (with ExpertsAuto), fixes the split instead
	// of measuring it: the CPU takes this many of each layer batch's picked
	// experts (those with the fewest tokens), the GPU stream the rest.
	CPUExperts int
	// NoPrefetch turns off the cross-layer expert prefetch: while a prompt
	// batch streamed by expert chunks computes a layer, the next MoE
	// layer's first staging part is filled with its first experts (a
	// prompt batch uses nearly all of them), so the copy engine does not
	// wait for that layer's router; a wrong guess costs only its copy. On
	// an H100, pp512 of gpt-oss-20b with experts in CPU memory 1,590 →
	// 1,764 tok/s (same call). $GGUFTOOL_PREFETCH_EXPERTS=0 turns it off
	// for every executor.
	NoPrefetch bool
}

// PrefetchEnv set to "0" sets Options.NoPrefetch for every executor.
const PrefetchEnv = "GGUFTOOL_PREFETCH_EXPERTS"

// Executor runs a whole MoE model on the GPU — attention with a
// GPU-resident KV cache, norms, routers, dense and shared-expert FFNs and
// the routed expert products — while the routed experts' weights may stay
// in CPU memory (streamed per layer over PCIe from page-locked host
// memory). It computes what the CPU runtime's graph of the architecture
// computes, from the same loaded tensors. The architectures differ only in
// how their layers are described (gptoss.go, deepseek.go, deepseek2.go with mla.go, phimoe.go).
type Executor struct {
	b *Backend
	m *runtime.Model
	o Options

	nLayer, d, nHead, nKV, hd, nExp, nUsed, ff, nVocab int
	ffnWidth                                           int // widest dense or shared-expert FFN (0: none)
	eps                                                float32
	layers                                             []layer
	outNorm                                            normSpec
	head                                               *runtime.Tensor
	headB                                              []float32
	router                                             cputwin.RouterParams // NExp and K set
	glu                                                cputwin.GLUMode      // the routed experts' activation
	gluAlpha, gluLimit                                 float32
	// longFreq, when set, replaces the layers' rope frequencies for a batch
	// that reaches past longFrom positions (Phi-3.5's LongRoPE); keys
	// already cached keep the rotation they were stored with, as on the CPU.
	longFreq []float32
	longFrom int
	// mla: the MLA sizes of a model whose layers use latent attention.
	mla mlaDims
	// batch is the pass size Reserve prepared (0: none, one pass per Eval).
	batch int

	stage      [3]*cuda.Buffer // gate, up, down staging (StagingExperts experts each)
	stageBias  [3]*cuda.Buffer
	pinned     []*cuda.HostBuffer // host copies when the mapping cannot be registered
	hostData   map[*runtime.Tensor][]byte
	registered [][]byte
	hyb        *hybridState // CPU/GPU expert split, copy stream, pinned buffers (cpu_experts.go)
}

// normSpec is a layer norm's weights: RMSNorm, or LayerNorm (mean
// subtracted) with an optional bias.
type normSpec struct {
	w, b  []float32
	layer bool
}

// ffnSpec is a dense SwiGLU FFN whose weights are on the GPU: a dense
// layer, or the shared experts of a MoE layer.
type ffnSpec struct {
	gate, up, down *runtime.Tensor
}

// moeSpec is a layer's router and routed experts.
type moeSpec struct {
	gateInp     *runtime.Tensor
	gateInpB    []float32
	exps        [3]*runtime.Tensor // gate, up, down
	expB        [3][]float32       // their biases, all experts
	resident    [3]bool            // exps[m] uploaded to the GPU
	allResident bool
}

type layer struct {
	attnNorm, ffnNorm normSpec
	attn              GQA
	mla               *mlaSpec // set: latent attention instead of attn
	moe               *moeSpec // nil: a dense layer
	ffn               *ffnSpec // dense FFN, or shared experts (added after the routed ones)
}

// NewExecutor prepares model m (loaded by runtime.Load with no placement)
// on backend b with the executor of its architecture.
func NewExecutor(m *runtime.Model, b *Backend, o Options) (*Executor, error) {
	switch m.Arch {
	case "gpt-oss":
		return NewGPTOSS(m, b, o)
	case "deepseek":
		return NewDeepSeek(m, b, o)
	case "phimoe":
		return NewPhiMoE(m, b, o)
	case "deepseek2":
		return NewDeepSeek2(m, b, o)
	}
	return nil, fmt.Errorf("%s: no GPU executor for architecture %s (gpt-oss, deepseek, deepseek2 and phimoe have one)", m.File.Path(), m.Arch)
}

// HasExecutor reports whether NewExecutor runs architecture arch.
func HasExecutor(arch string) bool {
	return arch == "gpt-oss" || arch == "deepseek" || arch == "deepseek2" || arch == "phimoe"
}

// moes lists the MoE layers' experts.
func (g *Executor) moes() []*moeSpec {
	var out []*moeSpec
	for i := range g.layers {
		if g.layers[i].moe != nil {
			out = append(out, g.layers[i].moe)
		}
	}
	return out
}

// upload puts the layers' matrices, the head and the experts the options
// place there on the GPU, and prepares streaming for the rest.
func (g *Executor) upload() error {
	o := g.o
	var up []*runtime.Tensor
	streamed := false
	for i := range g.layers {
		ly := &g.layers[i]
		if a := ly.mla; a != nil {
			up = append(up, a.kvA, a.kb, a.vb, a.o)
			for _, t := range []*runtime.Tensor{a.q, a.qa, a.qb} {
				if t != nil {
					up = append(up, t)
				}
			}
		} else {
			up = append(up, ly.attn.Q, ly.attn.K, ly.attn.V, ly.attn.O)
		}
		if ly.ffn != nil {
			up = append(up, ly.ffn.gate, ly.ffn.up, ly.ffn.down)
		}
		mo := ly.moe
		if mo == nil {
			continue
		}
		up = append(up, mo.gateInp)
		mo.allResident = true
		for m, t := range mo.exps {
			mo.resident[m] = o.ExpertsOnGPU || o.ExpertTensorOnGPU != nil && o.ExpertTensorOnGPU(t.Name)
			if mo.resident[m] {
				up = append(up, t)
			}
			mo.allResident = mo.allResident && mo.resident[m]
		}
		streamed = streamed || !mo.allResident
	}
	up = append(up, g.head)
	// One allocation for all: no page rounding per matrix (pack.go).
	if err := g.b.UploadPacked(up); err != nil {
		return err
	}
	if streamed {
		if err := g.prepareStreaming(); err != nil {
			g.Close()
			return err
		}
	}
	return nil
}

// Session is one sequence: its KV cache lives on the GPU.
type Session struct {
	g     *Executor
	c     *KVCache
	pos   int
	batch int // the most tokens one pass evaluates (sliding-window rings are sized by it)
}

// SessionCells returns, per layer, the KV rows a session of maxCtx
// positions evaluated in batches of at most batch tokens keeps, and the
// key and value widths (in halves) of a row: a full-attention layer keeps
// every position, a sliding-window layer its window plus one batch
// (planner.GguftoolKV models the same).
func (g *Executor) SessionCells(maxCtx, batch int) (kw, vw, cells []int) {
	kw, vw, cells = make([]int, g.nLayer), make([]int, g.nLayer), make([]int, g.nLayer)
	for i := range kw {
		kw[i], vw[i], cells[i] = g.nKV*g.hd, g.nKV*g.hd, maxCtx
		if g.layers[i].mla != nil { // latent rows, no values
			kw[i], vw[i] = g.mla.rank+g.mla.rope, 0
		} else if w := g.layers[i].attn.Window; w > 0 {
			cells[i] = min(maxCtx, w+batch)
		}
	}
	return kw, vw, cells
}

// NewSession allocates a GPU KV cache for maxCtx positions. Prompts are
// evaluated in passes of at most the batch Reserve was given (all at once
// without Reserve), so sliding-window layers keep window + that batch rows.
func (g *Executor) NewSession(maxCtx int) (*Session, error) {
	batch := g.batch
	if batch <= 0 || batch > maxCtx {
		batch = maxCtx
	}
	kw, vw, cells := g.SessionCells(maxCtx, batch)
	c, err := g.b.NewKVCache(kw, vw, cells, maxCtx)
	if err != nil {
		return nil, err
	}
	return &Session{g: g, c: c, batch: batch}, nil
}

// Close frees the session's cache.
func (s *Session) Close() { s.c.Free() }

// KVBytes is the GPU memory of the session's cache.
func (s *Session) KVBytes() uint64 { return s.c.Bytes() }

// Scratch slots of the backend used by the executor (0–4: attention).
const (
	scrH = 10 + iota
	scrLogits
	scrIDs
	scrW
	scrOut
	scrSlots
	scrG
	scrU
	scrY
	scrXG
	scrYS
	scrIdx
	scrFG // dense / shared-expert FFN gate
	scrFU // and up
)

// norm queues the layer norm of n rows of x into y.
func (g *Executor) norm(ns *normSpec, x, y cuda.DevicePtr, n int) error {
	b := g.b
	w, err := b.vec(ns.w)
	if err != nil {
		return err
	}
	if !ns.layer {
		return b.k.RMSNorm(b.s, x, g.d, y, g.d, w, g.d, n, g.eps)
	}
	bias, err := b.vec(ns.b)
	if err != nil {
		return err
	}
	return b.k.LayerNorm(b.s, x, g.d, y, g.d, w, bias, g.d, n, g.eps)
}

// denseFFN adds the SwiGLU FFN of n rows of dx to dh (dtmp: n·d floats).
func (g *Executor) denseFFN(f *ffnSpec, dx, dh, dtmp cuda.DevicePtr, n int) error {
	b, k, st := g.b, g.b.k, g.b.s
	d, w := g.d, f.gate.Rows()
	a := &allocator{b: b}
	dg, du := a.get(scrFG, n*w), a.get(scrFU, n*w)
	if a.err != nil {
		return a.err
	}
	for i, t := range []*runtime.Tensor{f.gate, f.up} {
		wt := b.weights[t]
		if err := k.MatMul(st, wt.typ, wt.buf.Ptr, dx, d, []cuda.DevicePtr{dg, du}[i], w, 0, d, w, n); err != nil {
			return err
		}
	}
	if err := k.GLU(st, cputwin.SwiGLU, dg, w, du, w, dg, w, w, n, 0, 0); err != nil {
		return err
	}
	wt := b.weights[f.down]
	if err := k.MatMul(st, wt.typ, wt.buf.Ptr, dg, w, dtmp, d, 0, w, d, n); err != nil {
		return err
	}
	return k.Add(st, dh, dtmp, dh, n*d, n*d)
}

// Eval runs tokens after the cached ones and returns their logits (all
// rows, or the last row only). More tokens than the session's batch are
// evaluated in passes of that batch.
func (s *Session) Eval(tokens []int32, all bool) ([]float32, error) {
	n := len(tokens)
	if n == 0 {
		return nil, fmt.Errorf("no tokens to evaluate")
	}
	if s.pos+n > s.c.maxPos {
		return nil, fmt.Errorf("context full: %d cached + %d new tokens exceed %d", s.pos, n, s.c.maxPos)
	}
	if n <= s.batch {
		return s.eval(tokens, all)
	}
	var out []float32
	for i := 0; i < n; i += s.batch {
		j := min(i+s.batch, n)
		l, err := s.eval(tokens[i:j], all)
		if err != nil {
			return nil, err
		}
		if all {
			out = append(out, l...)
		} else {
			out = l
		}
	}
	return out, nil
}

// eval is one pass of at most s.batch tokens.
func (s *Session) eval(tokens []int32, all bool) ([]float32, error) {
	g, b := s.g, s.g.b
	b.mu.Lock()
	defer b.mu.Unlock()
	n, d := len(tokens), g.d
	emb, _ := g.m.Tensor("token_embd.weight")
	if err := b.growHost(&b.hx, uint64(4*n*d)); err != nil {
		return nil, err
	}
	if err := b.s.Synchronize(); err != nil {
		return nil, err
	}
	hx := b.hx.Float32s()
	for i, id := range tokens {
		if id < 0 || int(id) >= g.nVocab {
			return nil, fmt.Errorf("token id %d out of range [0, %d)", id, g.nVocab)
		}
		emb.Mat().DequantizeRows(hx[i*d:(i+1)*d], int(id), int(id)+1)
	}
	rows := n
	if !all {
		rows = 1
	}
	long := g.longFreq != nil && s.pos+n > g.longFrom
	var err error
	func() {
		a := &allocator{b: b}
		dh, dx, dattn := a.get(scrH, n*d), a.get(0, n*d), a.get(3, n*d)
		dlog, dids, dw := a.get(scrLogits, n*g.nExp), a.get(scrIDs, n*g.nUsed), a.get(scrW, n*g.nUsed)
		// The logits of all rows (all) go through the slot Reserve sized
		// for one row in pieces that fit it, so asking for every
		// position's logits takes no VRAM beyond the plan.
		outRows := rows
		if g.batch > 0 && len(b.scr) > scrOut && b.scr[scrOut] != nil {
			outRows = max(1, min(rows, int(b.scr[scrOut].Size/4)/g.nVocab))
		}
		dout := a.get(scrOut, outRows*g.nVocab)
		if err = a.err; err != nil {
			return
		}
		if err = b.s.UploadAsync(dh, b.hx.Bytes()[:4*n*d]); err != nil {
			return
		}
		var dpos cuda.DevicePtr
		if dpos, err = b.positions(n, s.pos); err != nil {
			return
		}
		k, st := b.k, b.s
		for l := range g.layers {
			ly := &g.layers[l]
			if err = g.norm(&ly.attnNorm, dh, dx, n); err != nil {
				return
			}
			attn := &ly.attn
			if long {
				la := *attn
				la.InvFreq = g.longFreq
				attn = &la
			}
			if ly.mla != nil {
				err = g.mlaAttend(ly.mla, dx, dattn, dpos, n, s.pos, s.c, l)
			} else {
				err = b.attend(dx, dattn, dpos, n, s.pos, attn, s.c, l)
			}
			if err != nil {
				return
			}
			if err = k.Add(st, dh, dattn, dh, n*d, n*d); err != nil {
				return
			}
			if err = g.norm(&ly.ffnNorm, dh, dx, n); err != nil {
				return
			}
			if mo := ly.moe; mo != nil {
				var gateInpB cuda.DevicePtr
				if gateInpB, err = b.vec(mo.gateInpB); err != nil {
					return
				}
				w := b.weights[mo.gateInp]
				if err = k.MatMul(st, w.typ, w.buf.Ptr, dx, d, dlog, g.nExp, gateInpB, d, g.nExp, n); err != nil {
					return
				}
				if err = k.Router(st, dlog, g.router, dids, dw, n); err != nil {
					return
				}
				if err = g.experts(mo, dx, dids, dw, dh, n); err != nil {
					err = fmt.Errorf("layer %d experts: %w", l, err)
					return
				}
			}
			if ly.ffn != nil {
				if err = g.denseFFN(ly.ffn, dx, dh, dattn, n); err != nil {
					return
				}
			}
		}
		var headB cuda.DevicePtr
		if headB, err = b.vec(g.headB); err != nil {
			return
		}
		hw := b.weights[g.head]
		if err = b.growHost(&b.hy, uint64(4*rows*g.nVocab)); err != nil {
			return
		}
		for r0 := 0; r0 < rows; r0 += outRows {
			nr := min(outRows, rows-r0) // dout's reuse waits for its copy: one stream
			src := dh + cuda.DevicePtr(4*(n-rows+r0)*d)
			if err = g.norm(&g.outNorm, src, dx, nr); err != nil {
				return
			}
			if err = k.MatMul(st, hw.typ, hw.buf.Ptr, dx, d, dout, g.nVocab, headB, d, g.nVocab, nr); err != nil {
				return
			}
			if err = st.DownloadAsync(b.hy.Bytes()[4*r0*g.nVocab:4*(r0+nr)*g.nVocab], dout); err != nil {
				return
			}
		}
		err = st.Synchronize()
	}()
	if err != nil {
		return nil, err
	}
	out := make([]float32, rows*g.nVocab)
	copy(out, b.hy.Float32s())
	s.pos += n
	return out, nil
}

// Reserve allocates the scratch buffers a batch of n tokens needs (the
// largest one pass evaluates: sessions made after it split longer prompts
// into passes of n, and size their sliding-window rings by n) and the device copies of the norms and
// biases, so that the GPU memory a run takes is taken at load time, where
// running out fails early, rather than at its first long prompt. It
// allocates the same slots as Eval and experts (planner.gguftoolMemory
// models them).
func (g *Executor) Reserve(n int) error {
	b := g.b
	b.mu.Lock()
	defer b.mu.Unlock()
	g.batch = n
	d, qw, kk, ff := g.d, g.nHead*g.hd, g.nUsed, g.ff
	np := n * kk
	// The slots' sizes in floats, packed into one allocation at the end.
	sizes := map[int]int{}
	need := func(slot, n int) { sizes[slot] = max(sizes[slot], n) }
	for slot, size := range map[int]int{0: n * d, 1: n * qw, 2: n * qw, 3: n * d, 4: n,
		scrH: n * d, scrLogits: n * g.nExp, scrIDs: np, scrW: np, scrOut: g.nVocab, scrSlots: max(np, 4*kk)} {
		need(slot, size)
	}
	above := g.o.GroupAbove
	if above == 0 {
		above = 32
	}
	if above > 0 && np > above {
		for slot, size := range map[int]int{scrIdx: 5 * np, scrXG: np * d, scrG: np * ff, scrU: np * ff, scrYS: np * d, scrY: np * d} {
			need(slot, size)
		}
	} else {
		for slot, size := range map[int]int{scrG: np * ff, scrU: np * ff, scrY: np * d} {
			need(slot, size)
		}
	}
	if g.ffnWidth > 0 {
		need(scrFG, n*g.ffnWidth)
		need(scrFU, n*g.ffnWidth)
	}
	if md := &g.mla; md.rank > 0 {
		H, row := g.nHead, md.rank+md.rope
		need(1, n*H*(md.nope+md.rope))
		need(2, n*H*row)
		need(scrLat, n*max(H*md.rank, row))
		need(scrMO, n*H*md.dv)
		for i := range g.layers {
			if ly := g.layers[i].mla; ly != nil && ly.qa != nil {
				need(scrQA, n*ly.qa.Rows())
			}
		}
	}
	if err := b.packScratch(sizes); err != nil {
		return fmt.Errorf("reserving scratch for %d tokens: %w", n, err)
	}
	vp := &vecs{b: b}
	for i := range g.layers {
		ly := &g.layers[i]
		for _, v := range [][]float32{ly.attnNorm.w, ly.attnNorm.b, ly.ffnNorm.w, ly.ffnNorm.b,
			ly.attn.QB, ly.attn.KB, ly.attn.VB, ly.attn.OB, ly.attn.Sinks, ly.attn.InvFreq} {
			vp.get(v)
		}
		if a := ly.mla; a != nil {
			vp.get(a.qaNorm)
			vp.get(a.kvNorm)
		}
		if mo := ly.moe; mo != nil {
			for _, v := range [][]float32{mo.gateInpB, mo.expB[0], mo.expB[1], mo.expB[2]} {
				vp.get(v)
			}
		}
	}
	vp.get(g.longFreq)
	vp.get(g.mla.invFreq)
	vp.get(g.outNorm.w)
	vp.get(g.outNorm.b)
	vp.get(g.headB)
	return vp.err
}
