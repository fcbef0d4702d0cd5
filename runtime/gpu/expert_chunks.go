package gpu

import (
	"fmt"

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
	count := make([]int, g.nExp)
	for _, e := range ids[:np] {
		if onGPU(e) {
			count[e]++
		}
	}
	part := g.o.StagingExperts / 2
	chunks := g.planExpertChunks(ly, count, part)
	if len(chunks) == 0 {
		return 0, 0, nil
	}
	// Rows sorted by chunk, then expert: each expert's rows contiguous, and
	// each chunk's (its activation runs on the chunk's row range).
	first := make([]int, g.nExp)
	rows, nOrder := 0, 0
	for _, c := range chunks {
		for _, e := range c.experts {
			first[e] = rows
			rows += count[e]
			nOrder++
		}
	}
	// Pinned: idx (row → token), inv (pair → row; the CPU's pairs read row
	// 0, weighted 0), then per chunk its (slot, first row, rows) triples.
	buf := int32s(h.hIdx, 2*np+3*nOrder)
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
	i := 0
	for _, c := range chunks {
		for j, e := range c.experts {
			tri[3*i], tri[3*i+1], tri[3*i+2] = c.slots[j], int32(first[e]), int32(count[e])
			i++
		}
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
	copied, t0 := 0, 0
	for _, c := range chunks {
		p, chunk := c.part, c.experts
		r0 := first[chunk[0]]
		r1 := first[chunk[len(chunk)-1]] + count[chunk[len(chunk)-1]]
		maxRows := 0
		for _, e := range chunk {
			maxRows = max(maxRows, count[e])
		}
		stage, stageB := g.stagePart(ly, p, part)
		if c.ahead {
			// Copied while the previous layer computed: the part's ready
			// events stand (nothing recorded them since).
			h.stats.PrefetchedExperts += int64(len(chunk))
		} else {
			if err := g.copyChunk(ly, chunk, p, part); err != nil {
				return 0, 0, err
			}
			copied += len(chunk)
		}
		t3 := tri[3*t0 : 3*(t0+len(chunk))]
		dt3 := dtri + cuda.DevicePtr(4*3*t0)
		t0 += len(chunk)
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
			if err := g.groupMatrix(typ, stage[m], expBytes, bias, t3, dt3, maxRows, true, x, xStride, outs[m], rowsE, cols); err != nil {
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
	h.nextPart = (chunks[len(chunks)-1].part + 1) % 2
	if nx := g.nextStreamedMoE(ly); nx != nil && !g.o.NoPrefetch {
		// The guess for the next layer: its first experts by id. A prompt
		// batch picks nearly every expert of every layer, the CPU split
		// spares prefetched experts, and consecutive ids are one copy per
		// matrix (copyChunk).
		guess := make([]int32, min(part, g.nExp))
		for i := range guess {
			guess[i] = int32(i)
		}
		if err := g.copyChunk(nx, guess, h.nextPart, part); err != nil {
			return 0, 0, err
		}
		copied += len(guess)
		h.prefetch.ly, h.prefetch.part, h.prefetch.experts, h.prefetch.ok = nx, h.nextPart, guess, true
	}
	if err := k.GetRows(st, cputwin.F32, ys, dinv, dy, d, np); err != nil {
		return 0, 0, err
	}
	return copied, rows, k.MoESum(st, dy, dw, dh, d, kk, n, true)
}

// expertChunk is one staging part's load: experts, their slots in the
// part, and whether they were copied ahead (the previous layer's prefetch).
type expertChunk struct {
	experts, slots []int32
	part           int
	ahead          bool
}

// planExpertChunks splits the experts with tokens (count > 0) into chunks
// of at most part experts on alternating staging parts. Experts the
// previous layer prefetched into a part for ly come first, in the slots
// they were copied to (a prefetched expert no token picked costs only its
// copy); the rest follow by ascending id, starting on the other part. It
// consumes the prefetch.
func (g *Executor) planExpertChunks(ly *moeSpec, count []int, part int) []expertChunk {
	h := g.hyb
	pre := h.prefetch
	h.prefetch.ok = false
	var chunks []expertChunk
	taken := make([]bool, g.nExp)
	p := h.nextPart
	if pre.ok && pre.ly == ly {
		c := expertChunk{part: pre.part, ahead: true}
		for sl, e := range pre.experts {
			if count[e] > 0 {
				c.experts = append(c.experts, e)
				c.slots = append(c.slots, int32(sl))
				taken[e] = true
			}
		}
		p = (pre.part + 1) % 2
		if len(c.experts) > 0 {
			chunks = append(chunks, c)
		}
	}
	var c expertChunk
	for e := range count {
		if count[e] == 0 || taken[e] {
			continue
		}
		if len(c.experts) == part {
			c.part = p
			chunks = append(chunks, c)
			c, p = expertChunk{}, (p+1)%2
		}
		c.slots = append(c.slots, int32(len(c.experts)))
		c.experts = append(c.experts, int32(e))
	}
	if len(c.experts) > 0 {
		c.part = p
		chunks = append(chunks, c)
	}
	return chunks
}

// prefetched reports the experts copied ahead for layer ly (nil: none).
func (h *hybridState) prefetched(ly *moeSpec) []int32 {
	if h.prefetch.ok && h.prefetch.ly == ly {
		return h.prefetch.experts
	}
	return nil
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
