package gpu

import (
	"fmt"
	"slices"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
)

// A prompt batch whose experts live in host memory is streamed expert
// chunk by expert chunk: every (token, expert) pair of the layer is sorted
// by expert once, the layer's distinct experts are copied into the staging
// area a half at a time (each expert once per layer), and while one half's
// products run the next half's copies fill the other. Chunking by tokens
// instead (streamExperts' loop) re-copies an expert for every chunk that
// uses it: with a 10-expert staging area (the Q8_0 gpt-oss-20b plan at
// 2 GiB) a 512-token batch made ~1-token chunks and copied each expert
// hundreds of times per layer (pp512 41 tok/s on an H200).

// minExpertChunkTokens is the smallest batch streamed by expert chunks:
// below it the token-chunked float32 products stay (decode, short prompts).
const minExpertChunkTokens = 32

// byExpertChunks reports whether a batch of n tokens is streamed by expert
// chunks: big enough to be grouped, with the tensor-core products on.
func (g *Executor) byExpertChunks(n int) bool {
	return n >= minExpertChunkTokens && g.grouped(n*g.nUsed) && g.b.k.GemmMinTokens > 0 && g.o.StagingExperts >= 2
}

// streamByExpert queues the GPU's share of a layer batch (experts not
// onCPU; their pairs weigh nothing in dw) by expert chunks, and returns the
// experts copied and the pairs computed.
func (g *Executor) streamByExpert(ly *moeSpec, ids []int32, onCPU []bool, dx, dw, dh cuda.DevicePtr, n int) (int, int, error) {
	h, b, k, st := g.hyb, g.b, g.b.k, g.b.s
	d, ff, kk := g.d, g.ff, g.nUsed
	np := n * kk
	onGPU := func(e int32) bool { return onCPU == nil || !onCPU[e] }
	// Rows sorted by expert (ascending id), each expert's rows contiguous.
	count := make([]int, g.nExp)
	for _, e := range ids[:np] {
		if onGPU(e) {
			count[e]++
		}
	}
	var order []int32
	first := make([]int, g.nExp)
	rows := 0
	for e := range count {
		if count[e] > 0 {
			first[e] = rows
			rows += count[e]
			order = append(order, int32(e))
		}
	}
	if len(order) == 0 {
		return 0, 0, nil
	}
	part := g.o.StagingExperts / 2
	nChunks := (len(order) + part - 1) / part
	// Pinned: idx (row → token), inv (pair → row; the CPU's pairs read row
	// 0, weighted 0), then per chunk its (slot, first row, rows) triples.
	buf := int32s(h.hIdx, 2*np+3*len(order))
	idx, inv, tri := buf[:np], buf[np:2*np], buf[2*np:]
	next := append([]int(nil), first...)
	for p, e := range ids[:np] {
		if !onGPU(e) {
			inv[p] = 0
			continue
		}
		r := next[e]
		next[e]++
		idx[r] = int32(p / kk)
		inv[p] = int32(r)
	}
	for i, e := range order {
		tri[3*i], tri[3*i+1], tri[3*i+2] = int32(i%part), int32(first[e]), int32(count[e])
	}
	a := &allocator{b: b}
	didx := a.get(scrIdx, 5*np)
	xg, dg, du := a.get(scrXG, np*d), a.get(scrG, np*ff), a.get(scrU, np*ff)
	ys, dy := a.get(scrYS, np*d), a.get(scrY, np*d)
	if a.err != nil {
		return 0, 0, a.err
	}
	// buf is pinned and not rewritten before the next layer's sync.
	if err := st.UploadAsync(didx, cuda.Int32Bytes(buf)); err != nil {
		return 0, 0, err
	}
	dinv, dtri := didx+cuda.DevicePtr(4*np), didx+cuda.DevicePtr(4*2*np)
	if err := k.GetRows(st, cputwin.F32, dx, didx, xg, d, rows); err != nil {
		return 0, 0, err
	}
	outs := [3]cuda.DevicePtr{dg, du, ys}
	copied := 0
	pre := h.prefetch
	h.prefetch.ok = false
	for c := 0; c < nChunks; c++ {
		chunk := order[c*part : min((c+1)*part, len(order))]
		p := (h.nextPart + c) % 2
		ahead := c == 0 && pre.ok && pre.ly == ly && pre.part == p && slices.Equal(pre.experts, chunk)
		r0 := first[chunk[0]]
		r1 := first[chunk[len(chunk)-1]] + count[chunk[len(chunk)-1]]
		maxRows := 0
		for _, e := range chunk {
			maxRows = max(maxRows, count[e])
		}
		stage, stageB := g.stagePart(ly, p, part)
		if ahead {
			// Copied while the previous layer computed: its ready events
			// stand (nothing recorded them since).
			h.stats.PrefetchedExperts += int64(len(chunk))
		} else {
			if err := g.copyChunk(ly, chunk, p, part); err != nil {
				return 0, 0, err
			}
			copied += len(chunk)
		}
		for m := 0; m < 3; m++ {
			t := ly.exps[m]
			typ := cputwin.WeightType(t.Info.Type)
			rowsE, cols := t.Rows()/g.nExp, t.Cols()
			rb, err := cputwin.RowBytes(typ, cols)
			if err != nil {
				return 0, 0, fmt.Errorf("%s: %w", t.Name, err)
			}
			expBytes := rb * int64(rowsE)
			if err := st.Wait(h.ready[p][m]); err != nil {
				return 0, 0, err
			}
			var bias cuda.DevicePtr
			if ly.expB[m] != nil {
				bias = stageB[m]
			}
			x, xStride := xg, d
			if m == 2 {
				x, xStride = dg, ff
			}
			t3 := tri[3*c*part : 3*(c*part+len(chunk))]
			if err := g.groupMatrix(typ, stage[m], expBytes, bias, t3, dtri+cuda.DevicePtr(4*3*c*part), maxRows, true, x, xStride, outs[m], rowsE, cols); err != nil {
				return 0, 0, err
			}
			if m == 1 {
				off := cuda.DevicePtr(4 * r0 * ff)
				if err := k.GLU(st, g.glu, dg+off, ff, du+off, ff, dg+off, ff, ff, r1-r0, g.gluAlpha, g.gluLimit); err != nil {
					return 0, 0, err
				}
			}
		}
		if err := h.free[p].Record(st); err != nil {
			return 0, 0, err
		}
	}
	h.nextPart = (h.nextPart + nChunks) % 2
	if next := g.nextStreamedMoE(ly); next != nil && g.o.PrefetchExperts {
		guess := append([]int32(nil), order[:min(part, len(order))]...)
		if err := g.copyChunk(next, guess, h.nextPart, part); err != nil {
			return 0, 0, err
		}
		copied += len(guess)
		h.prefetch.ly, h.prefetch.part, h.prefetch.experts, h.prefetch.ok = next, h.nextPart, guess, true
	}
	if err := k.GetRows(st, cputwin.F32, ys, dinv, dy, d, np); err != nil {
		return 0, 0, err
	}
	return copied, rows, k.MoESum(st, dy, dw, dh, d, kk, n, true)
}

// nextStreamedMoE is the MoE layer after ly when its experts are streamed
// (not all resident), else nil.
func (g *Executor) nextStreamedMoE(ly *moeSpec) *moeSpec {
	h := g.hyb
	if h.nextMoE == nil {
		h.nextMoE = map[*moeSpec]*moeSpec{}
		ms := g.moes()
		for i := 0; i+1 < len(ms); i++ {
			h.nextMoE[ms[i]] = ms[i+1]
		}
	}
	if next := h.nextMoE[ly]; next != nil && !next.allResident {
		return next
	}
	return nil
}
