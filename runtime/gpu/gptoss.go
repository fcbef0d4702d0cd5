package gpu

import (
	"fmt"
	"math"
	"slices"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/runtime"
)

// GPTOSSOptions configure the gpt-oss GPU executor.
type GPTOSSOptions struct {
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
}

// GPTOSS runs gpt-oss with every operation on the GPU — attention with a
// GPU-resident KV cache, norms, router, SwiGLU and the expert products —
// while the expert weights may stay in CPU memory (streamed per token over
// PCIe from page-locked host memory). It computes what runtime's gpt-oss
// graph computes (transformers semantics), from the same loaded tensors.
type GPTOSS struct {
	b *Backend
	m *runtime.Model
	o GPTOSSOptions

	nLayer, d, nHead, nKV, hd, nExp, nUsed, ff, nVocab int
	eps                                                float32
	layers                                             []gptossLayer
	outNorm                                            []float32
	head                                               *runtime.Tensor

	stage      [3]*cuda.Buffer // gate, up, down staging (StagingExperts experts each)
	stageBias  [3]*cuda.Buffer
	pinned     []*cuda.HostBuffer // host copies when the mapping cannot be registered
	hostData   map[*runtime.Tensor][]byte
	registered [][]byte
}

type gptossLayer struct {
	attnNorm, postNorm []float32
	attn               GQA
	gateInp            *runtime.Tensor
	gateInpB           []float32
	exps               [3]*runtime.Tensor // gate, up, down
	expB               [3][]float32       // their biases, all experts
	resident           [3]bool            // exps[m] uploaded to the GPU
	allResident        bool
}

func mdInt(md *gguf.Metadata, key string, def int) (int, error) {
	if !md.Has(key) {
		if def < 0 {
			return 0, fmt.Errorf("metadata key %s is missing", key)
		}
		return def, nil
	}
	v, err := md.Int(key)
	return int(v), err
}

func mdFloat(md *gguf.Metadata, key string, def float64) (float64, error) {
	if !md.Has(key) {
		return def, nil
	}
	return md.Float(key)
}

// NewGPTOSS prepares model m (loaded by runtime.Load with no placement)
// on backend b: uploads the attention weights, router, norms, output head
// and biases, and either the experts or nothing of them (see options).
func NewGPTOSS(m *runtime.Model, b *Backend, o GPTOSSOptions) (*GPTOSS, error) {
	if m.Arch != "gpt-oss" {
		return nil, fmt.Errorf("%s: the GPU executor runs gpt-oss, not %s", m.File.Path(), m.Arch)
	}
	md := m.File.Metadata
	g := &GPTOSS{b: b, m: m, o: o, nLayer: m.NLayer, d: m.NEmbd, nVocab: m.NVocab, hostData: map[*runtime.Tensor][]byte{}}
	var err error
	get := func(key string, def int) int {
		v, e := mdInt(md, "gpt-oss."+key, def)
		if e != nil && err == nil {
			err = fmt.Errorf("%s: %w", m.File.Path(), e)
		}
		return v
	}
	g.nHead, g.nKV = get("attention.head_count", -1), get("attention.head_count_kv", -1)
	g.hd = get("attention.key_length", g.d/max(g.nHead, 1))
	g.nExp, g.nUsed = get("expert_count", -1), get("expert_used_count", -1)
	g.ff = get("expert_feed_forward_length", -1)
	window := get("attention.sliding_window", 0)
	nRot := get("rope.dimension_count", g.hd)
	origCtx := get("rope.scaling.original_context_length", 4096)
	if err != nil {
		return nil, err
	}
	eps, _ := mdFloat(md, "gpt-oss.attention.layer_norm_rms_epsilon", 1e-5)
	base, _ := mdFloat(md, "gpt-oss.rope.freq_base", 10000)
	factor, _ := mdFloat(md, "gpt-oss.rope.scaling.factor", 1)
	betaFast, _ := mdFloat(md, "gpt-oss.rope.scaling.yarn_beta_fast", 32)
	betaSlow, _ := mdFloat(md, "gpt-oss.rope.scaling.yarn_beta_slow", 1)
	g.eps = float32(eps)
	freq, mscale := cputwin.RopeFreqs(nRot, base), float32(1)
	if factor > 1 {
		// gpt-oss: YaRN without floor/ceil, m = 0.1·ln s + 1 (architectures.md §1.2).
		freq = cputwin.YaRNFreqs(nRot, base, factor, origCtx, betaFast, betaSlow, false)
		mscale = float32(0.1*math.Log(factor) + 1)
	}
	tensor := func(name string) *runtime.Tensor {
		t, ok := m.Tensor(name)
		if !ok && err == nil {
			err = fmt.Errorf("%s: tensor %s is missing", m.File.Path(), name)
		}
		return t
	}
	floats := func(name string, optional bool) []float32 {
		t, ok := m.Tensor(name)
		if !ok {
			if !optional && err == nil {
				err = fmt.Errorf("%s: tensor %s is missing", m.File.Path(), name)
			}
			return nil
		}
		v := make([]float32, t.Rows()*t.Cols())
		if e := cputwin.Dequant(cputwin.WeightType(t.Info.Type), t.Data, v); e != nil && err == nil {
			err = fmt.Errorf("%s: %w", t.Name, e)
		}
		return v
	}
	for l := 0; l < g.nLayer; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		ly := gptossLayer{
			attnNorm: floats(p+"attn_norm.weight", false),
			postNorm: floats(p+"post_attention_norm.weight", false),
			attn: GQA{
				Q: tensor(p + "attn_q.weight"), K: tensor(p + "attn_k.weight"), V: tensor(p + "attn_v.weight"), O: tensor(p + "attn_output.weight"),
				QB: floats(p+"attn_q.bias", true), KB: floats(p+"attn_k.bias", true), VB: floats(p+"attn_v.bias", true), OB: floats(p+"attn_output.bias", true),
				Sinks: floats(p+"attn_sinks.weight", false),
				NHead: g.nHead, NKV: g.nKV, HeadDim: g.hd, Scale: float32(1 / math.Sqrt(float64(g.hd))),
				NeoX: true, NRot: nRot, InvFreq: freq, MScale: mscale,
			},
			gateInp:  tensor(p + "ffn_gate_inp.weight"),
			gateInpB: floats(p+"ffn_gate_inp.bias", true),
			exps:     [3]*runtime.Tensor{tensor(p + "ffn_gate_exps.weight"), tensor(p + "ffn_up_exps.weight"), tensor(p + "ffn_down_exps.weight")},
			expB:     [3][]float32{floats(p+"ffn_gate_exps.bias", true), floats(p+"ffn_up_exps.bias", true), floats(p+"ffn_down_exps.bias", true)},
		}
		if l%2 == 0 { // sliding window on even layers
			ly.attn.Window = window
		}
		g.layers = append(g.layers, ly)
	}
	g.outNorm = floats("output_norm.weight", false)
	g.head, _ = m.Tensor("output.weight")
	if g.head == nil {
		g.head = tensor("token_embd.weight")
	}
	if err != nil {
		return nil, err
	}
	var up []*runtime.Tensor
	streamed := false
	for i := range g.layers {
		ly := &g.layers[i]
		up = append(up, ly.attn.Q, ly.attn.K, ly.attn.V, ly.attn.O, ly.gateInp)
		ly.allResident = true
		for m, t := range ly.exps {
			ly.resident[m] = o.ExpertsOnGPU || o.ExpertTensorOnGPU != nil && o.ExpertTensorOnGPU(t.Name)
			if ly.resident[m] {
				up = append(up, t)
			}
			ly.allResident = ly.allResident && ly.resident[m]
		}
		streamed = streamed || !ly.allResident
	}
	up = append(up, g.head)
	for _, t := range up {
		if err := b.Upload(t); err != nil {
			return nil, err
		}
	}
	if streamed {
		if err := g.prepareStreaming(); err != nil {
			g.Close()
			return nil, err
		}
	}
	return g, nil
}

// prepareStreaming page-locks the mapped file (so expert copies run at bus
// speed and asynchronously) and allocates the staging area.
func (g *GPTOSS) prepareStreaming() error {
	ctx := g.b.ctx
	for _, sh := range g.m.File.Shards {
		if err := ctx.Register(sh.Bytes(), true); err != nil {
			// Fall back to pinned copies of the expert tensors.
			for _, r := range g.registered {
				ctx.Unregister(r)
			}
			g.registered = nil
			return g.pinExperts(err)
		}
		g.registered = append(g.registered, sh.Bytes())
	}
	for i := range g.layers {
		for _, t := range g.layers[i].exps {
			g.hostData[t] = t.Data
		}
	}
	return g.allocStaging()
}

func (g *GPTOSS) pinExperts(why error) error {
	for i := range g.layers {
		for m, t := range g.layers[i].exps {
			if g.layers[i].resident[m] {
				continue
			}
			h, err := g.b.ctx.AllocHost(uint64(len(t.Data)))
			if err != nil {
				return fmt.Errorf("pinning %s in host memory (registering the mapping failed: %v): %w", t.Name, why, err)
			}
			copy(h.Bytes(), t.Data)
			g.pinned = append(g.pinned, h)
			g.hostData[t] = h.Bytes()
		}
	}
	return g.allocStaging()
}

func (g *GPTOSS) allocStaging() error {
	c := g.o.StagingExperts
	if c <= 0 || c > g.nExp {
		c = g.nExp
	}
	g.o.StagingExperts = max(c, g.nUsed)
	ly := &g.layers[0]
	for m, t := range ly.exps {
		buf, err := g.b.ctx.Alloc(uint64(len(t.Data)/g.nExp) * uint64(g.o.StagingExperts))
		if err != nil {
			return fmt.Errorf("expert staging area: %w", err)
		}
		g.stage[m] = buf
		bb, err := g.b.ctx.Alloc(uint64(4 * t.Rows() / g.nExp * g.o.StagingExperts))
		if err != nil {
			return fmt.Errorf("expert staging area: %w", err)
		}
		g.stageBias[m] = bb
	}
	return nil
}

// Close releases what the executor holds besides the backend's weights.
func (g *GPTOSS) Close() {
	for _, r := range g.registered {
		g.b.ctx.Unregister(r)
	}
	for _, h := range g.pinned {
		h.Free()
	}
	for m := range g.stage {
		g.stage[m].Free()
		g.stageBias[m].Free()
	}
	g.registered, g.pinned = nil, nil
}

// GPTOSSSession is one sequence: its KV cache lives on the GPU.
type GPTOSSSession struct {
	g   *GPTOSS
	c   *KVCache
	pos int
}

// NewSession allocates a GPU KV cache for maxCtx positions.
func (g *GPTOSS) NewSession(maxCtx int) (*GPTOSSSession, error) {
	w := make([]int, g.nLayer)
	for i := range w {
		w[i] = g.nKV * g.hd
	}
	c, err := g.b.NewKVCache(w, w, maxCtx)
	if err != nil {
		return nil, err
	}
	return &GPTOSSSession{g: g, c: c}, nil
}

// Close frees the session's cache.
func (s *GPTOSSSession) Close() { s.c.Free() }

// KVBytes is the GPU memory of the session's cache.
func (s *GPTOSSSession) KVBytes() uint64 { return s.c.Bytes() }

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
)

// Eval runs tokens after the cached ones and returns their logits (all
// rows, or the last row only).
func (s *GPTOSSSession) Eval(tokens []int32, all bool) ([]float32, error) {
	g, b := s.g, s.g.b
	b.mu.Lock()
	defer b.mu.Unlock()
	n, d := len(tokens), g.d
	if n == 0 {
		return nil, fmt.Errorf("no tokens to evaluate")
	}
	if s.pos+n > s.c.maxPos {
		return nil, fmt.Errorf("context full: %d cached + %d new tokens exceed %d", s.pos, n, s.c.maxPos)
	}
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
	var err error
	func() {
		a := &allocator{b: b}
		dh, dx, dattn := a.get(scrH, n*d), a.get(0, n*d), a.get(3, n*d)
		dlog, dids, dw := a.get(scrLogits, n*g.nExp), a.get(scrIDs, n*g.nUsed), a.get(scrW, n*g.nUsed)
		dout := a.get(scrOut, rows*g.nVocab)
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
			vp := &vecs{b: b}
			attnNorm, postNorm, gateInpB := vp.get(ly.attnNorm), vp.get(ly.postNorm), vp.get(ly.gateInpB)
			if err = vp.err; err != nil {
				return
			}
			if err = k.RMSNorm(st, dh, d, dx, d, attnNorm, d, n, g.eps); err != nil {
				return
			}
			if err = b.attend(dx, dattn, dpos, n, s.pos, &ly.attn, s.c, l); err != nil {
				return
			}
			if err = k.Add(st, dh, dattn, dh, n*d, n*d); err != nil {
				return
			}
			if err = k.RMSNorm(st, dh, d, dx, d, postNorm, d, n, g.eps); err != nil {
				return
			}
			w := b.weights[ly.gateInp]
			if err = k.MatMul(st, w.typ, w.buf.Ptr, dx, d, dlog, g.nExp, gateInpB, d, g.nExp, n); err != nil {
				return
			}
			rp := cputwin.RouterParams{NExp: g.nExp, K: g.nUsed, Mode: cputwin.TopKSoftmax, Scale: 1}
			if err = k.Router(st, dlog, rp, dids, dw, n); err != nil {
				return
			}
			if err = g.experts(ly, dx, dids, dw, dh, n); err != nil {
				err = fmt.Errorf("layer %d experts: %w", l, err)
				return
			}
		}
		src := dh + cuda.DevicePtr(4*(n-rows)*d)
		outNorm, e := b.vec(g.outNorm)
		if err = e; err != nil {
			return
		}
		if err = k.RMSNorm(st, src, d, dx, d, outNorm, d, rows, g.eps); err != nil {
			return
		}
		hw := b.weights[g.head]
		if err = k.MatMul(st, hw.typ, hw.buf.Ptr, dx, d, dout, g.nVocab, 0, d, g.nVocab, rows); err != nil {
			return
		}
		if err = b.growHost(&b.hy, uint64(4*rows*g.nVocab)); err != nil {
			return
		}
		if err = st.DownloadAsync(b.hy.Bytes()[:4*rows*g.nVocab], dout); err != nil {
			return
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

// allocator hands out scratch buffers and keeps the first error.
type allocator struct {
	b   *Backend
	err error
}

func (a *allocator) get(i, n int) cuda.DevicePtr {
	p, err := a.b.scratch(i, n)
	if err != nil && a.err == nil {
		a.err = err
	}
	return p
}

// vecs hands out device copies of small vectors and keeps the first error.
type vecs struct {
	b   *Backend
	err error
}

func (v *vecs) get(x []float32) cuda.DevicePtr {
	p, err := v.b.vec(x)
	if err != nil && v.err == nil {
		v.err = err
	}
	return p
}

// experts runs the routed experts of one layer for n tokens of normalized
// input dx and adds their weighted outputs to dh.
func (g *GPTOSS) experts(ly *gptossLayer, dx, dids, dw, dh cuda.DevicePtr, n int) error {
	b, st := g.b, g.b.s
	d, ff, kk := g.d, g.ff, g.nUsed
	grouped := func(pairs int) bool {
		above := g.o.GroupAbove
		if above == 0 {
			above = 32
		}
		return above > 0 && pairs > above
	}
	if ly.allResident && !grouped(n*kk) {
		a := &allocator{b: b}
		dg, du, dy := a.get(scrG, n*kk*ff), a.get(scrU, n*kk*ff), a.get(scrY, n*kk*d)
		if a.err != nil {
			return a.err
		}
		return g.expertProducts(ly, [3]cuda.DevicePtr{}, dx, dids, dw, dh, dg, du, dy, n, false)
	}
	// Which experts do the tokens use? (one small download, then the copies)
	ids := make([]int32, n*kk)
	if err := st.DownloadAsync(cuda.Int32Bytes(ids), dids); err != nil {
		return err
	}
	if err := st.Synchronize(); err != nil {
		return err
	}
	if ly.allResident {
		return g.groupedProducts(ly, ids, false, dx, dw, dh, n)
	}
	for t0, nt := 0, 0; t0 < n; t0 += nt {
		// The chunk grows token by token while its distinct experts fit the
		// staging area (with room for all experts: the whole batch at once,
		// each expert copied once per layer).
		slotOf := map[int32]int32{}
		var order []int32
		var slots []int32
		for nt = 0; t0+nt < n; nt++ {
			tok := ids[(t0+nt)*kk : (t0+nt+1)*kk]
			fresh := 0
			for j, e := range tok {
				if _, ok := slotOf[e]; !ok && !slices.Contains(tok[:j], e) {
					fresh++
				}
			}
			if nt > 0 && len(order)+fresh > g.o.StagingExperts {
				break
			}
			for _, e := range tok {
				sl, ok := slotOf[e]
				if !ok {
					sl = int32(len(order))
					slotOf[e] = sl
					order = append(order, e)
				}
				slots = append(slots, sl)
			}
		}
		for m := 0; m < 3; m++ {
			t := ly.exps[m]
			host := g.hostData[t]
			expBytes := len(t.Data) / g.nExp
			rows := t.Rows() / g.nExp
			for sl, e := range order {
				dst := g.stage[m].At(uint64(sl * expBytes))
				if ly.resident[m] {
					// Already on the GPU: a device-to-device copy.
					if err := st.CopyAsync(dst, b.weights[t].buf.At(uint64(int(e)*expBytes)), uint64(expBytes)); err != nil {
						return err
					}
				} else if err := st.UploadAsync(dst, host[int(e)*expBytes:(int(e)+1)*expBytes]); err != nil {
					return err
				}
				if ly.expB[m] != nil {
					bias, err := b.vec(ly.expB[m])
					if err != nil {
						return err
					}
					if err := st.CopyAsync(g.stageBias[m].At(uint64(4*sl*rows)), bias+cuda.DevicePtr(4*int(e)*rows), uint64(4*rows)); err != nil {
						return err
					}
				}
			}
		}
		if grouped(nt * kk) {
			if err := g.groupedProducts(ly, slots, true, dx+cuda.DevicePtr(4*t0*d), dw+cuda.DevicePtr(4*t0*kk), dh+cuda.DevicePtr(4*t0*d), nt); err != nil {
				return err
			}
			continue
		}
		a := &allocator{b: b}
		dslots := a.get(scrSlots, nt*kk)
		dg, du, dy := a.get(scrG, nt*kk*ff), a.get(scrU, nt*kk*ff), a.get(scrY, nt*kk*d)
		if a.err != nil {
			return a.err
		}
		if err := st.UploadAsync(dslots, cuda.Int32Bytes(slots)); err != nil {
			return err
		}
		// slots is Go memory read by an async copy: wait before it can go.
		if err := st.Synchronize(); err != nil {
			return err
		}
		stage := [3]cuda.DevicePtr{g.stage[0].Ptr, g.stage[1].Ptr, g.stage[2].Ptr}
		if err := g.expertProducts(ly, stage, dx+cuda.DevicePtr(4*t0*d), dslots, dw+cuda.DevicePtr(4*t0*kk), dh+cuda.DevicePtr(4*t0*d), dg, du, dy, nt, true); err != nil {
			return err
		}
	}
	return nil
}

// expertProducts queues gate/up products, the clamped SwiGLU, the down
// product and the weighted sum for n tokens. With staged, the matrices are
// read from the staging area (ids are slots, biases staged per slot).
func (g *GPTOSS) expertProducts(ly *gptossLayer, stage [3]cuda.DevicePtr, dx, ids, dw, dh, dg, du, dy cuda.DevicePtr, n int, staged bool) error {
	b, k, st := g.b, g.b.k, g.b.s
	d, ff, kk := g.d, g.ff, g.nUsed
	outs := [3]cuda.DevicePtr{dg, du, dy}
	for m := 0; m < 3; m++ {
		t := ly.exps[m]
		w := b.weights[t]
		typ := cputwin.WeightType(t.Info.Type)
		rows, cols := t.Rows()/g.nExp, t.Cols()
		rb, err := cputwin.RowBytes(typ, cols)
		if err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		base := stage[m]
		bias, err := b.vec(ly.expB[m])
		if err != nil {
			return err
		}
		if staged {
			bias = 0
			if ly.expB[m] != nil {
				bias = g.stageBias[m].Ptr
			}
		} else {
			base = w.buf.Ptr
		}
		x, xStride, xDiv := dx, d, kk
		if m == 2 {
			x, xStride, xDiv = dg, ff, 1
		}
		if err := k.MatMulID(st, typ, base, rb*int64(rows), ids, x, xStride, xDiv, outs[m], rows, bias, rows, cols, rows, n*kk); err != nil {
			return err
		}
		if m == 1 {
			if err := k.GLU(st, cputwin.SwiGLUOAI, dg, ff, du, ff, dg, ff, ff, n*kk, 1.702, 7); err != nil {
				return err
			}
		}
	}
	return k.MoESum(st, dy, dw, dh, d, kk, n, true)
}

// groupedProducts runs the experts of nt tokens grouped by expert: keys[p]
// is pair p's staging slot (staged) or expert id. The pairs' inputs are
// gathered in group order, each group is one token-batched product per
// matrix (its weights decoded once per 8 tokens), and the outputs are
// gathered back into pair order for the weighted sum.
func (g *GPTOSS) groupedProducts(ly *gptossLayer, keys []int32, staged bool, dx, dw, dh cuda.DevicePtr, nt int) error {
	b, k, st := g.b, g.b.k, g.b.s
	d, ff, kk := g.d, g.ff, g.nUsed
	np := nt * kk
	groupOf := map[int32]int{}
	var groups [][]int
	for p, key := range keys[:np] {
		gi, ok := groupOf[key]
		if !ok {
			gi = len(groups)
			groupOf[key] = gi
			groups = append(groups, nil)
		}
		groups[gi] = append(groups[gi], p)
	}
	// idx holds, for sorted row i, its token; then, for pair p, its sorted row.
	idx := make([]int32, 2*np)
	offsets := make([]int, len(groups))
	i := 0
	for gi, pairs := range groups {
		offsets[gi] = i
		for _, p := range pairs {
			idx[i] = int32(p / kk)
			idx[np+p] = int32(i)
			i++
		}
	}
	a := &allocator{b: b}
	didx := a.get(scrIdx, 2*np)
	xg, dg, du := a.get(scrXG, np*d), a.get(scrG, np*ff), a.get(scrU, np*ff)
	ys, dy := a.get(scrYS, np*d), a.get(scrY, np*d)
	if a.err != nil {
		return a.err
	}
	if err := st.UploadAsync(didx, cuda.Int32Bytes(idx)); err != nil {
		return err
	}
	if err := st.Synchronize(); err != nil { // idx is Go memory
		return err
	}
	if err := k.GetRows(st, cputwin.F32, dx, didx, xg, d, np); err != nil {
		return err
	}
	outs := [3]cuda.DevicePtr{dg, du, ys}
	for m := 0; m < 3; m++ {
		t := ly.exps[m]
		typ := cputwin.WeightType(t.Info.Type)
		rows, cols := t.Rows()/g.nExp, t.Cols()
		rb, err := cputwin.RowBytes(typ, cols)
		if err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		expBytes := rb * int64(rows)
		allBias, err := b.vec(ly.expB[m])
		if err != nil {
			return err
		}
		for gi, pairs := range groups {
			key := keys[pairs[0]]
			var w, bias cuda.DevicePtr
			if staged {
				w = g.stage[m].At(uint64(int64(key) * expBytes))
				if ly.expB[m] != nil {
					bias = g.stageBias[m].At(uint64(4 * int(key) * rows))
				}
			} else {
				w = b.weights[t].buf.At(uint64(int64(key) * expBytes))
				if allBias != 0 {
					bias = allBias + cuda.DevicePtr(4*int(key)*rows)
				}
			}
			x, xStride := xg+cuda.DevicePtr(4*offsets[gi]*d), d
			if m == 2 {
				x, xStride = dg+cuda.DevicePtr(4*offsets[gi]*ff), ff
			}
			if err := k.MatMul(st, typ, w, x, xStride, outs[m]+cuda.DevicePtr(4*offsets[gi]*rows), rows, bias, cols, rows, len(pairs)); err != nil {
				return err
			}
		}
		if m == 1 {
			if err := k.GLU(st, cputwin.SwiGLUOAI, dg, ff, du, ff, dg, ff, ff, np, 1.702, 7); err != nil {
				return err
			}
		}
	}
	if err := k.GetRows(st, cputwin.F32, ys, didx+cuda.DevicePtr(4*np), dy, d, np); err != nil {
		return err
	}
	return k.MoESum(st, dy, dw, dh, d, kk, nt, true)
}

// Reserve allocates the scratch buffers a batch of n tokens needs (the
// largest the caller will evaluate) and the device copies of the norms and
// biases, so that the GPU memory a run takes is taken at load time, where
// running out fails early, rather than at its first long prompt. It
// allocates the same slots as Eval and experts (planner.gguftoolMemory
// models them).
func (g *GPTOSS) Reserve(n int) error {
	b := g.b
	b.mu.Lock()
	defer b.mu.Unlock()
	d, qw, kk, ff := g.d, g.nHead*g.hd, g.nUsed, g.ff
	np := n * kk
	a := &allocator{b: b}
	for slot, size := range map[int]int{0: n * d, 1: n * qw, 2: n * qw, 3: n * d, 4: n,
		scrH: n * d, scrLogits: n * g.nExp, scrIDs: np, scrW: np, scrOut: g.nVocab, scrSlots: max(np, 4*kk)} {
		a.get(slot, size)
	}
	above := g.o.GroupAbove
	if above == 0 {
		above = 32
	}
	if above > 0 && np > above {
		for slot, size := range map[int]int{scrIdx: 2 * np, scrXG: np * d, scrG: np * ff, scrU: np * ff, scrYS: np * d, scrY: np * d} {
			a.get(slot, size)
		}
	} else {
		for slot, size := range map[int]int{scrG: np * ff, scrU: np * ff, scrY: np * d} {
			a.get(slot, size)
		}
	}
	if a.err != nil {
		return fmt.Errorf("reserving scratch for %d tokens: %w", n, a.err)
	}
	vp := &vecs{b: b}
	for i := range g.layers {
		ly := &g.layers[i]
		for _, v := range [][]float32{ly.attnNorm, ly.postNorm, ly.gateInpB, ly.attn.QB, ly.attn.KB, ly.attn.VB, ly.attn.OB, ly.attn.Sinks, ly.attn.InvFreq, ly.expB[0], ly.expB[1], ly.expB[2]} {
			vp.get(v)
		}
	}
	vp.get(g.outNorm)
	return vp.err
}
