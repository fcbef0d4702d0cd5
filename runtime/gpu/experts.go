package gpu

import (
	"fmt"
	"slices"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/cuda/ops"
)

// This file holds the routed experts of every executor: where their weights
// live (resident on the GPU, or in page-locked host memory and copied to a
// staging area per layer and batch) and the products that run them.

// prepareStreaming page-locks the mapped file (so expert copies run at bus
// speed and asynchronously) and allocates the staging area.
func (g *Executor) prepareStreaming() error {
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
	for _, mo := range g.moes() {
		for _, t := range mo.exps {
			g.hostData[t] = t.Data
		}
	}
	return g.allocStaging()
}

func (g *Executor) pinExperts(why error) error {
	for _, mo := range g.moes() {
		for m, t := range mo.exps {
			if mo.resident[m] {
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

func (g *Executor) allocStaging() error {
	c := g.o.StagingExperts
	if c <= 0 || c > g.nExp {
		c = g.nExp
	}
	g.o.StagingExperts = max(c, g.nUsed)
	// The widest layer's experts size the area (a quantization recipe may
	// give some layers' experts a larger type).
	var expBytes, rows [3]int
	for _, mo := range g.moes() {
		for m, t := range mo.exps {
			expBytes[m] = max(expBytes[m], len(t.Data)/g.nExp)
			rows[m] = max(rows[m], t.Rows()/g.nExp)
		}
	}
	for m := range expBytes {
		buf, err := g.b.ctx.Alloc(uint64(expBytes[m]) * uint64(g.o.StagingExperts))
		if err != nil {
			return fmt.Errorf("expert staging area: %w", err)
		}
		g.stage[m] = buf
		bb, err := g.b.ctx.Alloc(uint64(4 * rows[m] * g.o.StagingExperts))
		if err != nil {
			return fmt.Errorf("expert staging area: %w", err)
		}
		g.stageBias[m] = bb
	}
	return g.newHybrid()
}

// Close releases what the executor holds besides the backend's weights.
func (g *Executor) Close() {
	for _, r := range g.registered {
		g.b.ctx.Unregister(r)
	}
	for _, h := range g.pinned {
		h.Free()
	}
	for m := range g.stage {
		if g.stage[m] != nil {
			g.stage[m].Free()
		}
		if g.stageBias[m] != nil {
			g.stageBias[m].Free()
		}
	}
	g.hyb.close()
	g.registered, g.pinned, g.hyb = nil, nil, nil
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
func (g *Executor) experts(ly *moeSpec, dx, dids, dw, dh cuda.DevicePtr, n int) error {
	b, st := g.b, g.b.s
	d, ff, kk := g.d, g.ff, g.nUsed
	if !ly.allResident {
		return g.hybridExperts(ly, dx, dids, dw, dh, n)
	}
	if !g.grouped(n * kk) {
		a := &allocator{b: b}
		dg, du, dy := a.get(scrG, n*kk*ff), a.get(scrU, n*kk*ff), a.get(scrY, n*kk*d)
		if a.err != nil {
			return a.err
		}
		return g.expertProducts(ly, [3]cuda.DevicePtr{}, [3]cuda.DevicePtr{}, nil, dx, dids, dw, dh, dg, du, dy, n, false)
	}
	// Which experts do the tokens use? (one small download)
	ids := make([]int32, n*kk)
	if err := st.DownloadAsync(cuda.Int32Bytes(ids), dids); err != nil {
		return err
	}
	if err := st.Synchronize(); err != nil {
		return err
	}
	return g.groupedProducts(ly, [3]cuda.DevicePtr{}, [3]cuda.DevicePtr{}, ids, nil, nil, false, dx, dw, dh, n)
}

// grouped reports whether a batch of pairs (token, expert) products runs
// grouped by expert (Options.GroupAbove).
func (g *Executor) grouped(pairs int) bool {
	above := g.o.GroupAbove
	if above == 0 {
		above = 32
	}
	return above > 0 && pairs > above
}

// streamExperts queues the GPU's share of a layer whose experts live in
// host memory: the experts not onCPU (nil: all) are copied into the staging
// area on the copy stream, in token chunks whose distinct experts fit a
// staging part, and multiplied on the compute stream as each matrix
// arrives; with two parts a chunk's copies overlap the previous chunk's
// products. Pairs of CPU experts get a staged expert and must weigh
// nothing in dw. ids (n·kk) is pinned host memory the caller keeps.
func (g *Executor) streamExperts(ly *moeSpec, cm *costModel, ids []int32, onCPU []bool, dx, dw, dh cuda.DevicePtr, n int) error {
	h, b, st := g.hyb, g.b, g.b.s
	d, ff, kk := g.d, g.ff, g.nUsed
	onGPU := func(e int32) bool { return onCPU == nil || !onCPU[e] }
	capacity := g.o.StagingExperts / h.parts
	slotsAll := int32s(h.hSlots, n*kk)
	idxAll := int32s(h.hIdx, 5*n*kk)
	if err := h.t0.Record(h.cs); err != nil {
		return err
	}
	streamed, gpuPairs, chunk := 0, 0, 0
	start := 0
	if !g.byExpertChunks(n) {
		// The token chunks below reuse the staging area from its start.
		h.prefetch.ok = false
	} else {
		var err error
		if streamed, gpuPairs, err = g.streamByExpert(ly, ids, onCPU, dx, dw, dh, n); err != nil {
			return err
		}
		start = n // nothing left for the token chunks below
	}
	for t0, nt := start, 0; t0 < n; t0 += nt {
		// The chunk grows token by token while its distinct GPU experts fit
		// a staging part (with room for all experts: the whole batch at
		// once, each expert copied once per layer).
		slotOf := map[int32]int32{}
		var order []int32
		for nt = 0; t0+nt < n; nt++ {
			tok := ids[(t0+nt)*kk : (t0+nt+1)*kk]
			fresh := 0
			for j, e := range tok {
				if _, ok := slotOf[e]; onGPU(e) && !ok && !slices.Contains(tok[:j], e) {
					fresh++
				}
			}
			if nt > 0 && len(order)+fresh > capacity {
				break
			}
			for j, e := range tok {
				sl := int32(-1)
				if onGPU(e) {
					var ok bool
					if sl, ok = slotOf[e]; !ok {
						sl = int32(len(order))
						slotOf[e] = sl
						order = append(order, e)
					}
					gpuPairs++
				}
				slotsAll[(t0+nt)*kk+j] = sl
			}
		}
		if len(order) == 0 {
			continue // every pair of these tokens is the CPU's
		}
		slots := slotsAll[t0*kk : (t0+nt)*kk]
		for i, sl := range slots {
			if sl < 0 {
				slots[i] = 0
			}
		}
		part := chunk % h.parts
		chunk++
		// The copies wait until the products that last read this part are
		// done (copyChunk).
		if err := g.copyChunk(ly, order, part, capacity); err != nil {
			return err
		}
		stage, stageB := g.stagePart(ly, part, capacity)
		streamed += len(order)
		wait := func(m int) error { return st.Wait(h.ready[part][m]) }
		x, w, y := dx+cuda.DevicePtr(4*t0*d), dw+cuda.DevicePtr(4*t0*kk), dh+cuda.DevicePtr(4*t0*d)
		if g.grouped(nt * kk) {
			if err := g.groupedProducts(ly, stage, stageB, slots, idxAll[5*t0*kk:5*(t0+nt)*kk], wait, true, x, w, y, nt); err != nil {
				return err
			}
		} else {
			a := &allocator{b: b}
			dslots := a.get(scrSlots, nt*kk)
			dg, du, dy := a.get(scrG, nt*kk*ff), a.get(scrU, nt*kk*ff), a.get(scrY, nt*kk*d)
			if a.err != nil {
				return a.err
			}
			// slots is pinned and not rewritten before the next layer's sync.
			if err := st.UploadAsync(dslots, cuda.Int32Bytes(slots)); err != nil {
				return err
			}
			if err := g.expertProducts(ly, stage, stageB, wait, x, dslots, w, y, dg, du, dy, nt, true); err != nil {
				return err
			}
		}
		if err := h.free[part].Record(st); err != nil {
			return err
		}
	}
	if err := h.tc.Record(h.cs); err != nil {
		return err
	}
	if err := h.t1.Record(st); err != nil {
		return err
	}
	h.timed.cm, h.timed.experts, h.timed.pair, h.timed.ok = cm, streamed, gpuPairs, true
	h.stats.StreamedExperts += int64(streamed)
	h.stats.StreamedBytes += int64(streamed) * cm.expertBytes
	h.stats.GPUTokenProducts += int64(gpuPairs)
	return nil
}

// stagePart returns where staging part p (of part experts each) holds
// layer ly's matrices and biases.
func (g *Executor) stagePart(ly *moeSpec, p, part int) (stage, stageB [3]cuda.DevicePtr) {
	for m := 0; m < 3; m++ {
		t := ly.exps[m]
		expBytes := len(t.Data) / g.nExp
		rowsE := t.Rows() / g.nExp
		stage[m] = g.stage[m].At(uint64(p * part * expBytes))
		stageB[m] = g.stageBias[m].At(uint64(4 * p * part * rowsE))
	}
	return stage, stageB
}

// copyChunk queues, on the copy stream, layer ly's experts chunk into
// staging part p (slot i: chunk[i]), after the products that last read
// that part, and records the part's per-matrix ready events. Both the
// token chunks (streamExperts) and the expert chunks (expert_chunks.go)
// fill the staging area this way.
func (g *Executor) copyChunk(ly *moeSpec, chunk []int32, p, part int) error {
	h, b := g.hyb, g.b
	if err := h.cs.Wait(h.free[p]); err != nil {
		return err
	}
	stage, stageB := g.stagePart(ly, p, part)
	// Experts with consecutive ids in consecutive slots are adjacent in
	// both places: one copy per run (a prompt batch's chunks are mostly
	// runs), fewer and larger transfers on the bus.
	type run struct{ slot, e, n int }
	var runs []run
	for sl, e := range chunk {
		if k := len(runs) - 1; k >= 0 && runs[k].slot+runs[k].n == sl && runs[k].e+runs[k].n == int(e) {
			runs[k].n++
			continue
		}
		runs = append(runs, run{sl, int(e), 1})
	}
	for m := 0; m < 3; m++ {
		t := ly.exps[m]
		expBytes := len(t.Data) / g.nExp
		rowsE := t.Rows() / g.nExp
		var bias cuda.DevicePtr
		if ly.expB[m] != nil {
			var err error
			if bias, err = b.vec(ly.expB[m]); err != nil {
				return err
			}
		}
		for _, r := range runs {
			dst := stage[m] + cuda.DevicePtr(r.slot*expBytes)
			if ly.resident[m] {
				if err := h.cs.CopyAsync(dst, b.weights[t].buf.At(uint64(r.e*expBytes)), uint64(r.n*expBytes)); err != nil {
					return err
				}
			} else if err := h.cs.UploadAsync(dst, g.hostData[t][r.e*expBytes:(r.e+r.n)*expBytes]); err != nil {
				return err
			}
			if bias != 0 {
				if err := h.cs.CopyAsync(stageB[m]+cuda.DevicePtr(4*r.slot*rowsE), bias+cuda.DevicePtr(4*r.e*rowsE), uint64(4*r.n*rowsE)); err != nil {
					return err
				}
			}
		}
		if err := h.ready[p][m].Record(h.cs); err != nil {
			return err
		}
	}
	return nil
}

// expertProducts queues gate/up products, the clamped SwiGLU, the down
// product and the weighted sum for n tokens. With staged, the matrices are
// read from the staging area at stage (ids are slots, biases staged per
// slot at stageB). wait, when set, is called before matrix m's product
// (the copy stream's event).
func (g *Executor) expertProducts(ly *moeSpec, stage, stageB [3]cuda.DevicePtr, wait func(m int) error, dx, ids, dw, dh, dg, du, dy cuda.DevicePtr, n int, staged bool) error {
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
				bias = stageB[m]
			}
		} else {
			base = w.buf.Ptr
		}
		if wait != nil {
			if err := wait(m); err != nil {
				return err
			}
		}
		x, xStride, xDiv := dx, d, kk
		if m == 2 {
			x, xStride, xDiv = dg, ff, 1
		}
		if err := k.MatMulID(st, typ, base, rb*int64(rows), ids, x, xStride, xDiv, outs[m], rows, bias, rows, cols, rows, n*kk); err != nil {
			return err
		}
		if m == 1 {
			if err := k.GLU(st, g.glu, dg, ff, du, ff, dg, ff, ff, n*kk, g.gluAlpha, g.gluLimit); err != nil {
				return err
			}
		}
	}
	return k.MoESum(st, dy, dw, dh, d, kk, n, true)
}

// groupedProducts runs the experts of nt tokens grouped by expert: keys[p]
// is pair p's staging slot (staged: matrices at stage, biases at stageB)
// or expert id. The pairs' inputs are gathered in group order, each group
// is one token-batched product per matrix (its weights decoded once per 8
// tokens), and the outputs are gathered back into pair order for the
// weighted sum. idx (2·nt·kk) is pinned host memory the caller keeps until
// the stream is done, or nil (then the upload is waited for); wait, when
// set, is called before matrix m's products.
func (g *Executor) groupedProducts(ly *moeSpec, stage, stageB [3]cuda.DevicePtr, keys, idx []int32, wait func(m int) error, staged bool, dx, dw, dh cuda.DevicePtr, nt int) error {
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
	// idx holds, for sorted row i, its token; then, for pair p, its sorted
	// row; then the groups' (key, first row, rows) triples for the grouped
	// tensor-core launch.
	pinned := idx != nil
	if !pinned {
		idx = make([]int32, 5*np)
	}
	tri := idx[2*np : 2*np+3*len(groups)]
	i, maxRows := 0, 0
	for gi, pairs := range groups {
		tri[3*gi], tri[3*gi+1], tri[3*gi+2] = keys[pairs[0]], int32(i), int32(len(pairs))
		maxRows = max(maxRows, len(pairs))
		for _, p := range pairs {
			idx[i] = int32(p / kk)
			idx[np+p] = int32(i)
			i++
		}
	}
	a := &allocator{b: b}
	didx := a.get(scrIdx, 5*np)
	xg, dg, du := a.get(scrXG, np*d), a.get(scrG, np*ff), a.get(scrU, np*ff)
	ys, dy := a.get(scrYS, np*d), a.get(scrY, np*d)
	if a.err != nil {
		return a.err
	}
	if err := st.UploadAsync(didx, cuda.Int32Bytes(idx[:2*np+len(tri)])); err != nil {
		return err
	}
	if !pinned {
		if err := st.Synchronize(); err != nil { // idx is Go memory
			return err
		}
	}
	dtri := didx + cuda.DevicePtr(4*2*np)
	if err := k.GetRows(st, cputwin.F32, dx, didx, xg, d, np); err != nil {
		return err
	}
	// One tensor-core launch per matrix for all groups when some group is
	// a batch MatMul would give the tensor cores anyway (prefill): one
	// launch instead of one per expert, whose 45-block grids left most of
	// the GPU idle (H200: 3.8 → 0.8 ms per layer matrix set). Smaller
	// groups keep MatMul's per-group float32 kernels.
	useGrouped := k.GemmMinTokens > 0 && maxRows >= k.GemmMinTokens
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
		if wait != nil {
			if err := wait(m); err != nil {
				return err
			}
		}
		var wBase, biasBase cuda.DevicePtr
		if staged {
			wBase = stage[m]
			if ly.expB[m] != nil {
				biasBase = stageB[m]
			}
		} else {
			wBase, biasBase = b.weights[t].buf.Ptr, allBias
		}
		x, xStride := xg, d
		if m == 2 {
			x, xStride = dg, ff
		}
		if err := g.groupMatrix(typ, wBase, expBytes, biasBase, tri, dtri, maxRows, useGrouped, x, xStride, outs[m], rows, cols); err != nil {
			return err
		}
		if m == 1 {
			if err := k.GLU(st, g.glu, dg, ff, du, ff, dg, ff, ff, np, g.gluAlpha, g.gluLimit); err != nil {
				return err
			}
		}
	}
	if err := k.GetRows(st, cputwin.F32, ys, didx+cuda.DevicePtr(4*np), dy, d, np); err != nil {
		return err
	}
	return k.MoESum(st, dy, dw, dh, d, kk, nt, true)
}

// groupMatrix queues one expert matrix for groups of sorted rows: tri holds
// (expert slot, first row, rows) triples (dtri: their device copy), the
// matrices expBytes apart from wBase, their biases (if biasBase) rows
// apart. With grouped (and aligned weights) it is one tensor-core launch
// for all groups; otherwise one MatMul per group.
func (g *Executor) groupMatrix(typ cputwin.WeightType, wBase cuda.DevicePtr, expBytes int64, biasBase cuda.DevicePtr, tri []int32, dtri cuda.DevicePtr,
	maxRows int, grouped bool, x cuda.DevicePtr, xStride int, out cuda.DevicePtr, rows, cols int) error {
	k, st := g.b.k, g.b.s
	nGroups := len(tri) / 3
	if grouped && ops.GroupedOK(wBase, expBytes, cols) {
		return k.MatMulGrouped(st, typ, wBase, expBytes, dtri, nGroups, maxRows, x, xStride, out, rows, biasBase, rows, cols, rows)
	}
	for i := 0; i < nGroups; i++ {
		key, first, n := tri[3*i], int(tri[3*i+1]), int(tri[3*i+2])
		var bias cuda.DevicePtr
		if biasBase != 0 {
			bias = biasBase + cuda.DevicePtr(4*int(key)*rows)
		}
		if err := k.MatMul(st, typ, wBase+cuda.DevicePtr(int64(key)*expBytes), x+cuda.DevicePtr(4*first*xStride), xStride,
			out+cuda.DevicePtr(4*first*rows), rows, bias, cols, rows, n); err != nil {
			return err
		}
	}
	return nil
}

// Reserve allocates the scratch buffers a batch of n tokens needs (the
// largest the caller will evaluate) and the device copies of the norms and
// biases, so that the GPU memory a run takes is taken at load time, where
// running out fails early, rather than at its first long prompt. It
// allocates the same slots as Eval and experts (planner.gguftoolMemory
// models them).
