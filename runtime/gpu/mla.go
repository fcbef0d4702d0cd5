package gpu

import (
	"fmt"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/runtime"
)

// mlaSpec is one layer's multi-head latent attention (DeepSeek-V2), run in
// the absorbed form as the CPU runtime does: the GPU cache holds per
// position the normalized latent ckv (rank floats) and the rotated shared
// k_pe (rope floats); queries are absorbed through k_b into the latent
// space, attention runs as one shared KV head of rank+rope dims, and the
// latent outputs are decompressed per head through v_b.
type mlaSpec struct {
	q      *runtime.Tensor // attn_q (lite) …
	qa, qb *runtime.Tensor // … or attn_q_a → RMSNorm → attn_q_b
	qaNorm []float32
	kvA    *runtime.Tensor // x → [ckv | k_pe]
	kvNorm []float32
	kb, vb *runtime.Tensor // {nope, rank, H}, {rank, dv, H}
	o      *runtime.Tensor
}

// mlaDims are a model's MLA sizes.
type mlaDims struct {
	nope, rope, rank, dv int
	invFreq              []float32
	scale                float32
}

// Scratch slots of MLA besides attention's 0–4 (1: q, 2: absorbed q).
const (
	scrLat = scrFU + 1 + iota // latent attention output, n·H·rank
	scrMO                     // decompressed heads, n·H·dv
	scrQA                     // q_a (non-lite), n·q_lora_rank
)

// rowsAt is the device address of row r of uploaded tensor t.
func (b *Backend) rowsAt(t *runtime.Tensor, r int) (cuda.DevicePtr, cputwin.WeightType, error) {
	w, ok := b.weights[t]
	if !ok || w.expertOff != nil {
		return 0, 0, fmt.Errorf("%s is not on %s", t.Name, b.dev)
	}
	return w.buf.Ptr + cuda.DevicePtr(int64(r)*w.rowBytes), w.typ, nil
}

// mlaAttend queues layer's MLA for n tokens of normalized input dx at
// positions dpos (pos0..), writing the new latent rows into the cache and
// the output projection (n rows of d) to dout.
func (g *Executor) mlaAttend(ly *mlaSpec, dx, dout, dpos cuda.DevicePtr, n, pos0 int, c *KVCache, layer int) error {
	b, k, st := g.b, g.b.k, g.b.s
	md := &g.mla
	H, nn, r, rank, dv, d := g.nHead, md.nope, md.rope, md.rank, md.dv, g.d
	kLen, row := nn+r, rank+r
	if pos0+n > c.maxPos {
		return fmt.Errorf("attention: positions %d..%d exceed the GPU cache of %d", pos0, pos0+n-1, c.maxPos)
	}
	if c.kw[layer] != row {
		return fmt.Errorf("attention: cache layer %d holds %d floats per position, MLA needs %d", layer, c.kw[layer], row)
	}
	a := &allocator{b: b}
	dq, dqf := a.get(1, n*H*kLen), a.get(2, n*H*row)
	// scrLat also carries the new latent rows (float32) before they go into
	// the half cache, ahead of its use for the latent output.
	dlat, dmo := a.get(scrLat, n*max(H*rank, row)), a.get(scrMO, n*H*dv)
	var dqa cuda.DevicePtr
	if ly.q == nil {
		dqa = a.get(scrQA, n*ly.qa.Rows())
	}
	if a.err != nil {
		return a.err
	}
	mm := func(t *runtime.Tensor, row0 int, x cuda.DevicePtr, xStride int, y cuda.DevicePtr, yStride, nIn, nOut int) error {
		w, typ, err := b.rowsAt(t, row0)
		if err != nil {
			return err
		}
		return k.MatMul(st, typ, w, x, xStride, y, yStride, 0, nIn, nOut, n)
	}
	// Queries: full projection (nope parts read from dq), and each head's
	// rope part projected straight into its place in the absorbed query.
	qw, qx, qStride := ly.q, dx, d
	if ly.q == nil {
		qr := ly.qa.Rows()
		if err := mm(ly.qa, 0, dx, d, dqa, qr, d, qr); err != nil {
			return err
		}
		nw, err := b.vec(ly.qaNorm)
		if err != nil {
			return err
		}
		if err := k.RMSNorm(st, dqa, qr, dqa, qr, nw, qr, n, g.eps); err != nil {
			return err
		}
		qw, qx, qStride = ly.qb, dqa, qr
	}
	if err := mm(qw, 0, qx, qStride, dq, H*kLen, qStride, H*kLen); err != nil {
		return err
	}
	for h := 0; h < H; h++ {
		if err := mm(qw, h*kLen+nn, qx, qStride, dqf+cuda.DevicePtr(4*(h*row+rank)), H*row, qStride, r); err != nil {
			return err
		}
	}
	// The new positions' latent rows, normalized and rotated, then stored
	// as halves.
	kc := dlat
	if err := mm(ly.kvA, 0, dx, d, kc, row, d, row); err != nil {
		return err
	}
	kvw, err := b.vec(ly.kvNorm)
	if err != nil {
		return err
	}
	if err := k.RMSNorm(st, kc, row, kc, row, kvw, rank, n, g.eps); err != nil {
		return err
	}
	freq, err := b.vec(md.invFreq)
	if err != nil {
		return err
	}
	if err := k.Rope(st, kc, cputwin.RopeParams{TokStride: row, HeadStride: row, NHead: 1, NTok: n, RotOff: rank, NRot: r, MScale: 1}, dpos, freq); err != nil {
		return err
	}
	if err := k.Rope(st, dqf, cputwin.RopeParams{TokStride: H * row, HeadStride: row, NHead: H, NTok: n, RotOff: rank, NRot: r, MScale: 1}, dpos, freq); err != nil {
		return err
	}
	if err := k.KVStore(st, kc, row, c.k[layer], row, row, n, pos0, c.cells[layer]); err != nil {
		return err
	}
	// Absorb k_b: q_abs[h] = k_b[h]ᵀ·q_nope[h] (rank wide).
	for h := 0; h < H; h++ {
		if err := mm(ly.kb, h*rank, dq+cuda.DevicePtr(4*h*kLen), H*kLen, dqf+cuda.DevicePtr(4*h*row), H*row, nn, rank); err != nil {
			return err
		}
	}
	ap := cputwin.AttentionParams{
		QTokStride: H * row, QHeadStride: row, KPosStride: row, VPosStride: row,
		OTokStride: H * rank, OHeadStride: rank,
		NTok: n, NHead: H, NHeadKV: 1, DK: row, DV: rank, Pos0: pos0, Cells: c.cells[layer], Scale: md.scale,
	}
	if err := k.Attention(st, ap, dqf, c.k[layer], c.k[layer], 0, dlat); err != nil {
		return err
	}
	// Decompress per head with v_b (dv wide), then the output projection.
	for h := 0; h < H; h++ {
		if err := mm(ly.vb, h*dv, dlat+cuda.DevicePtr(4*h*rank), H*rank, dmo+cuda.DevicePtr(4*h*dv), H*dv, rank, dv); err != nil {
			return err
		}
	}
	return mm(ly.o, 0, dmo, H*dv, dout, d, H*dv, d)
}
