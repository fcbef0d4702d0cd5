package gpu

import (
	"fmt"
	"unsafe"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/runtime"
)

// KVCache is one sequence's key/value cache on the GPU, in half precision
// (as llama.cpp's default f16 cache): per layer a ring of cells[l] rows of
// kw[l] key halves and vw[l] value halves, position j in row j % cells[l].
// A full-attention layer has a cell per position of the session; a
// sliding-window layer keeps its window plus the largest batch (a batch
// stores all its rows before its queries read, so the ring needs window +
// batch - 1 rows not to overwrite a key still in view). The whole cache is
// one device allocation, so it costs no per-layer page rounding.
type KVCache struct {
	b      *Backend
	buf    *cuda.Buffer
	k, v   []cuda.DevicePtr // v[l] = 0: keys only (MLA's latent rows)
	kw, vw []int
	cells  []int
	maxPos int
}

// kvAlign keeps every layer's rows on a 256-byte boundary.
const kvAlign = 256

// KVCacheBytes is the size of the allocation NewKVCache makes: per layer
// cells[l] rows of (kw[l] + vw[l]) halves, keys and values each starting
// on a 256-byte boundary (planner.GguftoolKV models the same layout).
func KVCacheBytes(kw, vw, cells []int) uint64 {
	var n uint64
	al := func(x uint64) uint64 { return (x + kvAlign - 1) / kvAlign * kvAlign }
	for l := range kw {
		n += al(uint64(2 * kw[l] * cells[l]))
		n += al(uint64(2 * vw[l] * cells[l]))
	}
	return n
}

// NewKVCache allocates a cache of maxPos positions for layers whose key and
// value rows are kw[l] and vw[l] halves wide (vw[l] = 0: keys only), with
// cells[l] ring rows each (≤ 0 or > maxPos: maxPos).
func (b *Backend) NewKVCache(kw, vw, cells []int, maxPos int) (*KVCache, error) {
	if len(kw) != len(vw) || len(kw) != len(cells) {
		return nil, fmt.Errorf("KV cache: %d key, %d value and %d cell counts", len(kw), len(vw), len(cells))
	}
	c := &KVCache{b: b, kw: kw, vw: vw, cells: make([]int, len(kw)), maxPos: maxPos}
	for l, n := range cells {
		if n <= 0 || n > maxPos {
			n = maxPos
		}
		c.cells[l] = n
	}
	size := KVCacheBytes(kw, vw, c.cells)
	buf, err := b.ctx.Alloc(max(size, 1))
	if err != nil {
		return nil, fmt.Errorf("KV cache (%d layers, %d positions, %d bytes): %w", len(kw), maxPos, size, err)
	}
	c.buf = buf
	var off uint64
	for l := range kw {
		c.k = append(c.k, buf.At(off))
		off += KVCacheBytes(kw[l:l+1], []int{0}, c.cells[l:l+1])
		var vp cuda.DevicePtr
		if vw[l] > 0 {
			vp = buf.At(off)
			off += KVCacheBytes([]int{0}, vw[l:l+1], c.cells[l:l+1])
		}
		c.v = append(c.v, vp)
	}
	return c, nil
}

// Bytes is the device memory the cache holds.
func (c *KVCache) Bytes() uint64 {
	if c.buf == nil {
		return 0
	}
	return c.buf.Size
}

// Cells is the number of ring rows of layer l.
func (c *KVCache) Cells(l int) int { return c.cells[l] }

// Free releases the cache.
func (c *KVCache) Free() {
	c.buf.Free()
	c.buf, c.k, c.v = nil, nil, nil
}

// GQA describes one grouped-query attention block whose q/k/v/o weights
// were uploaded to this GPU: projections with optional biases, rope on the
// first NRot dims of each head (InvFreq: NRot/2 frequencies, MScale on
// cos/sin), attention over the cache with optional per-head sinks and a
// sliding window, and the output projection.
type GQA struct {
	Q, K, V, O     *runtime.Tensor
	QB, KB, VB, OB []float32
	Sinks          []float32
	NHead, NKV     int
	HeadDim        int
	Scale          float32
	Window         int // 0: full causal
	NeoX           bool
	NRot           int
	InvFreq        []float32
	MScale         float32
}

// vec returns the device copy of a small host vector (bias, sinks, rope
// table), uploading it the first time; the runtime keeps these slices for
// the model's lifetime, so the first element's address identifies them.
func (b *Backend) vec(v []float32) (cuda.DevicePtr, error) {
	if len(v) == 0 {
		return 0, nil
	}
	key := vecKey{unsafe.Pointer(&v[0]), len(v)}
	if p, ok := b.vecs[key]; ok {
		return p, nil
	}
	p, err := b.vecArena.alloc(b.ctx, uint64(4*len(v)))
	if err != nil {
		return 0, err
	}
	// v is ordinary Go memory: wait for the copy before it can move.
	if err := b.s.UploadAsync(p, cuda.Float32Bytes(v)); err != nil {
		return 0, err
	}
	if err := b.s.Synchronize(); err != nil {
		return 0, err
	}
	b.vecs[key] = p
	return p, nil
}

type vecKey struct {
	p unsafe.Pointer
	n int
}

// scratch returns device buffer i of at least n floats (grown on demand).
func (b *Backend) scratch(i int, n int) (cuda.DevicePtr, error) {
	for len(b.scr) <= i {
		b.scr = append(b.scr, nil)
	}
	if err := b.grow(&b.scr[i], uint64(4*n)); err != nil {
		return 0, err
	}
	return b.scr[i].Ptr, nil
}

// Attention runs the block for n tokens at positions pos0.. on the
// normalized input x (n rows of Q's columns): keys and values of the new
// tokens go into cache layer, and out receives the output projection (n
// rows of O's rows). Everything between the input upload and the output
// download stays on the GPU.
func (b *Backend) Attention(out, x []float32, n, pos0 int, g *GQA, c *KVCache, layer int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, nOut := g.Q.Cols(), g.O.Rows()
	if len(x) < n*d || len(out) < n*nOut {
		return fmt.Errorf("attention: buffers too small for %d tokens", n)
	}
	dx, err := b.scratch(0, n*d)
	if err != nil {
		return err
	}
	dout, err := b.scratch(3, n*nOut)
	if err != nil {
		return err
	}
	dpos, err := b.positions(n, pos0)
	if err != nil {
		return err
	}
	if err := b.growHost(&b.hx, uint64(4*n*d)); err != nil {
		return err
	}
	copy(b.hx.Float32s(), x[:n*d])
	if err := b.s.UploadAsync(dx, b.hx.Bytes()[:4*n*d]); err != nil {
		return err
	}
	if err := b.attend(dx, dout, dpos, n, pos0, g, c, layer); err != nil {
		return err
	}
	if err := b.growHost(&b.hy, uint64(4*n*nOut)); err != nil {
		return err
	}
	if err := b.s.DownloadAsync(b.hy.Bytes()[:4*n*nOut], dout); err != nil {
		return err
	}
	if err := b.s.Synchronize(); err != nil {
		return fmt.Errorf("attention layer %d on %s: %w", layer, b.dev, err)
	}
	copy(out[:n*nOut], b.hy.Float32s())
	return nil
}

// positions uploads pos0..pos0+n-1 as int32 (queued on the stream) and
// returns their device address.
func (b *Backend) positions(n, pos0 int) (cuda.DevicePtr, error) {
	dpos, err := b.scratch(4, n)
	if err != nil {
		return 0, err
	}
	if err := b.growHost(&b.hpos, uint64(4*n)); err != nil {
		return 0, err
	}
	// The previous use of the staging buffer may still be queued: wait.
	if err := b.s.Synchronize(); err != nil {
		return 0, err
	}
	pos := unsafe.Slice((*int32)(unsafe.Pointer(&b.hpos.Bytes()[0])), n)
	for i := range pos {
		pos[i] = int32(pos0 + i)
	}
	return dpos, b.s.UploadAsync(dpos, b.hpos.Bytes()[:4*n])
}

// attend queues the attention block on device buffers: dx (n rows of Q's
// columns) in, dout (n rows of O's rows) out, dpos the n positions.
func (b *Backend) attend(dx, dout, dpos cuda.DevicePtr, n, pos0 int, g *GQA, c *KVCache, layer int) error {
	if pos0+n > c.maxPos {
		return fmt.Errorf("attention: positions %d..%d exceed the GPU cache of %d", pos0, pos0+n-1, c.maxPos)
	}
	d, qw, kw := g.Q.Cols(), g.NHead*g.HeadDim, g.NKV*g.HeadDim
	if c.kw[layer] != kw || c.vw[layer] != kw {
		return fmt.Errorf("attention: cache layer %d holds %d/%d floats per position, the block needs %d", layer, c.kw[layer], c.vw[layer], kw)
	}
	ws := make([]*weight, 4)
	for i, t := range []*runtime.Tensor{g.Q, g.K, g.V, g.O} {
		w, ok := b.weights[t]
		if !ok || w.expertOff != nil {
			return fmt.Errorf("attention: %s is not on %s", t.Name, b.dev)
		}
		ws[i] = w
	}
	var vecs [6]cuda.DevicePtr
	for i, v := range [][]float32{g.QB, g.KB, g.VB, g.OB, g.Sinks, g.InvFreq} {
		p, err := b.vec(v)
		if err != nil {
			return err
		}
		vecs[i] = p
	}
	dq, err := b.scratch(1, n*qw)
	if err != nil {
		return err
	}
	do, err := b.scratch(2, n*qw)
	if err != nil {
		return err
	}
	nOut := g.O.Rows()
	s, k := b.s, b.k
	cells := c.cells[layer]
	if err := k.MatMul(s, ws[0].typ, ws[0].buf.Ptr, dx, d, dq, qw, vecs[0], d, qw, n); err != nil {
		return err
	}
	if g.NRot > 0 {
		rp := cputwin.RopeParams{TokStride: qw, HeadStride: g.HeadDim, NHead: g.NHead, NTok: n, NRot: g.NRot, MScale: g.MScale, NeoX: g.NeoX}
		if err := k.Rope(s, dq, rp, dpos, vecs[5]); err != nil {
			return err
		}
	}
	// The new keys and values pass through slot 2 (free until the
	// attention output) in float32, then go into the cache as halves.
	if err := k.MatMul(s, ws[1].typ, ws[1].buf.Ptr, dx, d, do, kw, vecs[1], d, kw, n); err != nil {
		return err
	}
	if g.NRot > 0 {
		rp := cputwin.RopeParams{TokStride: kw, HeadStride: g.HeadDim, NHead: g.NKV, NTok: n, NRot: g.NRot, MScale: g.MScale, NeoX: g.NeoX}
		if err := k.Rope(s, do, rp, dpos, vecs[5]); err != nil {
			return err
		}
	}
	if err := k.KVStore(s, do, kw, c.k[layer], kw, kw, n, pos0, cells); err != nil {
		return err
	}
	if err := k.MatMul(s, ws[2].typ, ws[2].buf.Ptr, dx, d, do, kw, vecs[2], d, kw, n); err != nil {
		return err
	}
	if err := k.KVStore(s, do, kw, c.v[layer], kw, kw, n, pos0, cells); err != nil {
		return err
	}
	ap := cputwin.AttentionParams{
		QTokStride: qw, QHeadStride: g.HeadDim, KPosStride: kw, KHeadStride: g.HeadDim,
		VPosStride: kw, VHeadStride: g.HeadDim, OTokStride: qw, OHeadStride: g.HeadDim,
		NTok: n, NHead: g.NHead, NHeadKV: g.NKV, DK: g.HeadDim, DV: g.HeadDim,
		Pos0: pos0, Window: g.Window, Cells: cells, Scale: g.Scale,
	}
	if err := k.Attention(s, ap, dq, c.k[layer], c.v[layer], vecs[4], do); err != nil {
		return err
	}
	return k.MatMul(s, ws[3].typ, ws[3].buf.Ptr, do, qw, dout, nOut, vecs[3], qw, nOut, n)
}
