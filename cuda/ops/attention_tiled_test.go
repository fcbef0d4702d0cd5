package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
)

// TestAttentionTiledDispatch: by default prefill batches of 64-wide heads
// go to attention_f16_tiled (grid: heads × 64-query blocks) and compute the
// twin's function on the fake driver; decode steps, other head sizes and
// AttentionTiledEnv "0" stay on attention_f16.
func TestAttentionTiledDispatch(t *testing.T) {
	f, k := fakeKernels(t)
	Emulate(f)
	f.Strict = true
	rng := rand.New(rand.NewPCG(7, 7))
	run := func(nTok, dk int) (string, cuda.Dim3) {
		p := cputwin.AttentionParams{QTokStride: 4 * dk, QHeadStride: dk, KPosStride: dk, KHeadStride: 0, VPosStride: dk, VHeadStride: 0,
			OTokStride: 4 * dk, OHeadStride: dk, NTok: nTok, NHead: 4, NHeadKV: 1, DK: dk, DV: dk, Pos0: 3, Scale: 0.125}
		rows := p.Pos0 + nTok
		q := make([]float32, nTok*p.QTokStride)
		for i := range q {
			q[i] = rng.Float32()*2 - 1
		}
		kh := make([]uint16, rows*dk)
		for i := range kh {
			kh[i] = cputwin.Float32ToHalf(rng.Float32()*2 - 1)
		}
		alloc := func(b []byte) cuda.DevicePtr {
			buf, err := k.ctx.Alloc(uint64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { buf.Free() })
			if err := buf.Upload(0, b); err != nil {
				t.Fatal(err)
			}
			return buf.Ptr
		}
		kb := make([]byte, 2*len(kh))
		for i, h := range kh {
			kb[2*i], kb[2*i+1] = byte(h), byte(h>>8)
		}
		dq, dkv := alloc(cuda.Float32Bytes(q)), alloc(kb)
		outBuf, err := k.ctx.Alloc(uint64(4 * nTok * p.OTokStride))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { outBuf.Free() })
		out := outBuf.Ptr
		n := len(f.Launches)
		if err := k.Attention(nil, p, dq, dkv, dkv, 0, out); err != nil {
			t.Fatal(err)
		}
		l := f.Launches[n]
		got := make([]float32, nTok*p.OTokStride)
		if err := outBuf.Download(0, cuda.Float32Bytes(got)); err != nil {
			t.Fatal(err)
		}
		kf := make([]float32, len(kh))
		for i, h := range kh {
			kf[i] = cputwin.HalfToFloat32(h)
		}
		want := cputwin.Attention(p, q, kf, kf, nil)
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-6 {
				t.Fatalf("%s: out[%d] = %g, twin %g", l.Name, i, got[i], want[i])
			}
		}
		return l.Name, l.Grid
	}
	t.Setenv(AttentionTiledEnv, "0")
	k.attnTiled = attentionTiledOn() // what Load reads
	if name, _ := run(100, 64); name != "attention_f16" {
		t.Errorf("tiled off: %s", name)
	}
	t.Setenv(AttentionTiledEnv, "")
	k.attnTiled = attentionTiledOn()
	if name, grid := run(100, 64); name != "attention_f16_tiled" || grid.X != 4 || grid.Y != 2 {
		t.Errorf("default, 100 tokens: %s grid %+v", name, grid)
	}
	for _, c := range []struct{ n, dk int }{{1, 64}, {8, 64}, {100, 128}} {
		if name, _ := run(c.n, c.dk); name != "attention_f16" {
			t.Errorf("default, %d tokens of dk %d: %s, want attention_f16", c.n, c.dk, name)
		}
	}
}
