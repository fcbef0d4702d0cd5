package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/runtime"
	"github.com/gguftool/gguftool/runtime/kernels"
)

// newTestBackend builds the backend the block tests use: the fake driver
// with emulated kernels here, the real GPU under the cuda build tag.
var newTestBackend = func(t *testing.T) *Backend { _, b := fakeBackend(t); return b }

func tensorFloats(t *testing.T, m *runtime.Model, name string) []float32 {
	t.Helper()
	tn, ok := m.Tensor(name)
	if !ok {
		t.Fatalf("no tensor %s", name)
	}
	out := make([]float32, tn.Rows()*tn.Cols())
	if err := cputwin.Dequant(cputwin.WeightType(tn.Info.Type), tn.Data, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// cpuBlock is the reference for Backend.Attention, composed from the CPU
// runtime's own kernels (runtime/kernels: independent of the GPU twins).
type cpuBlock struct {
	g    *GQA
	k, v []float32 // host cache
}

func (c *cpuBlock) run(t *testing.T, x []float32, n, pos0 int) []float32 {
	g := c.g
	qw, kw := g.NHead*g.HeadDim, g.NKV*g.HeadDim
	mm := func(w *runtime.Tensor, x, b []float32) []float32 {
		y := make([]float32, n*w.Rows())
		kernels.MatMul(y, w.Mat(), x, n)
		for tk := 0; tk < n && b != nil; tk++ {
			kernels.Add(y[tk*w.Rows():(tk+1)*w.Rows()], b)
		}
		return y
	}
	q, k, v := mm(g.Q, x, g.QB), mm(g.K, x, g.KB), mm(g.V, x, g.VB)
	style := kernels.RopeNorm
	if g.NeoX {
		style = kernels.RopeNeox
	}
	rope := kernels.Rope{Style: style, InvFreq: g.InvFreq, Scale: g.MScale}
	for tk := 0; tk < n; tk++ {
		rope.Apply(q[tk*qw:(tk+1)*qw], g.NHead, g.HeadDim, pos0+tk)
		rope.Apply(k[tk*kw:(tk+1)*kw], g.NKV, g.HeadDim, pos0+tk)
	}
	// The GPU cache holds halves: so does the reference's.
	c.k = append(c.k[:pos0*kw], roundHalves(k)...)
	c.v = append(c.v[:pos0*kw], roundHalves(v)...)
	att := kernels.Attention{NHead: g.NHead, NHeadKV: g.NKV, HeadDimK: g.HeadDim, HeadDimV: g.HeadDim,
		Scale: g.Scale, Sinks: g.Sinks, Window: g.Window, K: c.k, V: c.v, KStride: kw, VStride: kw}
	o := make([]float32, n*qw)
	att.Run(o, q, n, pos0)
	return mm(g.O, o, g.OB)
}

// roundHalves rounds x to half precision in place, as the GPU KV cache
// stores it.
func roundHalves(x []float32) []float32 {
	for i, v := range x {
		x[i] = cputwin.HalfToFloat32(cputwin.Float32ToHalf(v))
	}
	return x
}

// kvF16Tol is the relative logit tolerance of the GPU executors against
// the CPU runtime: the GPU keeps K and V in half precision (as llama.cpp's
// default cache), the CPU in float32, so logits differ by ~1e-3 of their
// largest magnitude (3e-3 after 4,000 positions, TestPhiMoELongRoPE).
const kvF16Tol = 5e-3

// TestAttentionBlock runs gpt-oss fixture layer-0 attention (q/k/v/o with
// biases, sinks, YaRN NEOX rope, a sliding window of 4) as one GPU block
// through prefill, decode and a second chunk, against the CPU composition.
func TestAttentionBlock(t *testing.T) {
	for _, ot := range []string{"f32", "q8_0"} {
		f := convertFixture(t, "gpt-oss", ot)
		m, err := runtime.Load(f, runtime.Options{})
		if err != nil {
			t.Fatal(err)
		}
		tn := func(s string) *runtime.Tensor { x, _ := m.Tensor("blk.0." + s); return x }
		g := &GQA{
			Q: tn("attn_q.weight"), K: tn("attn_k.weight"), V: tn("attn_v.weight"), O: tn("attn_output.weight"),
			QB: tensorFloats(t, m, "blk.0.attn_q.bias"), KB: tensorFloats(t, m, "blk.0.attn_k.bias"),
			VB: tensorFloats(t, m, "blk.0.attn_v.bias"), OB: tensorFloats(t, m, "blk.0.attn_output.bias"),
			Sinks: tensorFloats(t, m, "blk.0.attn_sinks.weight"),
			NHead: 4, NKV: 2, HeadDim: 64, Scale: 0.125, Window: 4, NeoX: true, NRot: 64,
			InvFreq: cputwin.YaRNFreqs(64, 150000, 32, 4096, 32, 1, false), MScale: 1.3465736,
		}
		b := newTestBackend(t)
		for _, w := range []*runtime.Tensor{g.Q, g.K, g.V, g.O} {
			if err := b.Upload(w); err != nil {
				t.Fatal(err)
			}
		}
		c, err := b.NewKVCache([]int{128}, []int{128}, []int{32}, 32)
		if err != nil {
			t.Fatal(err)
		}
		ref := &cpuBlock{g: g}
		rng := rand.New(rand.NewPCG(uint64(len(ot)), 1))
		d := g.Q.Cols()
		pos := 0
		for _, n := range []int{7, 1, 3} {
			x := make([]float32, n*d)
			for i := range x {
				x[i] = 2*rng.Float32() - 1
			}
			got := make([]float32, n*g.O.Rows())
			if err := b.Attention(got, x, n, pos, g, c, 0); err != nil {
				t.Fatal(err)
			}
			want := ref.run(t, x, n, pos)
			var maxErr, maxRef float64
			for i := range want {
				maxErr = math.Max(maxErr, math.Abs(float64(got[i]-want[i])))
				maxRef = math.Max(maxRef, math.Abs(float64(want[i])))
			}
			line := fmt.Sprintf("attention block %s n=%d pos0=%d: max |Δ| %.2e (max |ref| %.3g)", ot, n, pos, maxErr, maxRef)
			t.Log(line)
			if maxErr > 1e-4*math.Max(1, maxRef) || math.IsNaN(maxErr) {
				t.Error(line)
			}
			pos += n
		}
		c.Free()
	}
}
