//go:build cuda

// GPU tests: every kernel against its cputwin twin on fresh random inputs.
// Build here with `make gpu-tests` (or go test -c -tags cuda), run on a
// machine with an NVIDIA GPU (`make test-gpu`). -ptxdir loads PTX from a
// directory instead of the embedded copy (to test freshly compiled kernels).
package ops

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/cuda/kernels"
)

var (
	ptxDir = flag.String("ptxdir", "", "load PTX from this directory instead of the embedded copy")
	seed   = flag.Uint64("seed", 0, "random seed (0: from the clock)")
)

type gpuEnv struct {
	t   *testing.T
	ctx *cuda.Context
	k   *Kernels
	rng *rand.Rand
}

var shared struct {
	ctx *cuda.Context
	k   *Kernels
	err error
}

func newEnv(t *testing.T) *gpuEnv {
	t.Helper()
	if shared.ctx == nil && shared.err == nil {
		d, err := cuda.Open()
		if err != nil {
			shared.err = err
		} else if shared.ctx, err = d.Context(0); err != nil {
			shared.err = err
		} else {
			src := kernels.PTX
			if *ptxDir != "" {
				src = func(m string) ([]byte, error) { return os.ReadFile(filepath.Join(*ptxDir, m+".ptx")) }
			}
			shared.k, shared.err = LoadFrom(shared.ctx, src)
		}
	}
	if shared.err != nil {
		t.Fatalf("GPU unavailable: %v", shared.err)
	}
	s := *seed
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d", s)
	return &gpuEnv{t: t, ctx: shared.ctx, k: shared.k, rng: rand.New(rand.NewPCG(s, 7))}
}

func (e *gpuEnv) floats(n int, scale float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = (2*e.rng.Float32() - 1) * scale
	}
	return x
}

func (e *gpuEnv) upload(b []byte) cuda.DevicePtr {
	e.t.Helper()
	buf, err := e.ctx.Alloc(uint64(max(len(b), 4)))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { buf.Free() })
	if err := buf.Upload(0, b); err != nil {
		e.t.Fatal(err)
	}
	return buf.Ptr
}

func (e *gpuEnv) dev(x []float32) cuda.DevicePtr { return e.upload(cuda.Float32Bytes(x)) }
func (e *gpuEnv) devI(x []int32) cuda.DevicePtr  { return e.upload(cuda.Int32Bytes(x)) }

// out allocates n floats poisoned with NaN, so unwritten outputs show.
func (e *gpuEnv) out(n int) cuda.DevicePtr {
	nan := make([]float32, n)
	for i := range nan {
		nan[i] = float32(math.NaN())
	}
	return e.dev(nan)
}

func (e *gpuEnv) read(p cuda.DevicePtr, n int) []float32 {
	e.t.Helper()
	if err := e.ctx.Synchronize(); err != nil {
		e.t.Fatalf("kernel failed: %v", err)
	}
	x := make([]float32, n)
	if err := e.ctx.API().MemcpyDtoH(ptrOf(x), p, uint64(4*n)); err != nil {
		e.t.Fatal(err)
	}
	return x
}

// compare checks got against want: the largest absolute error relative to
// the largest |want| must stay under tol, and no NaN may remain. It logs a
// GPUCHECK line that the test script collects into the report table.
func (e *gpuEnv) compare(name string, got, want []float32, tol float64) {
	e.t.Helper()
	var maxErr, maxRef float64
	for i := range want {
		if math.IsNaN(float64(got[i])) {
			e.t.Errorf("%s: element %d is NaN (unwritten or invalid), want %v", name, i, want[i])
			return
		}
		maxErr = math.Max(maxErr, math.Abs(float64(got[i])-float64(want[i])))
		maxRef = math.Max(maxRef, math.Abs(float64(want[i])))
	}
	rel := maxErr / math.Max(maxRef, 1e-30)
	status := "PASS"
	if rel > tol {
		status = "FAIL"
		e.t.Errorf("%s: max abs error %.3g (%.3g of max |ref| %.3g) > tol %.1g", name, maxErr, rel, maxRef, tol)
	}
	fmt.Printf("GPUCHECK %-40s max_abs_err %.3e rel %.3e (max|ref| %.3g, n %d) %s\n", name, maxErr, rel, maxRef, len(want), status)
}

// randomWeights returns nRows random rows of n elements of type t, with
// every scale field a finite, moderate value, so all code paths decode.
func (e *gpuEnv) randomWeights(t cputwin.WeightType, n, nRows int) []byte {
	rb, err := cputwin.RowBytes(t, n)
	if err != nil {
		e.t.Fatal(err)
	}
	b := make([]byte, int(rb)*nRows)
	for i := range b {
		b[i] = byte(e.rng.Uint32())
	}
	half := func(p []byte, expLo, expHi int) {
		h := uint16(e.rng.IntN(2))<<15 | uint16(expLo+e.rng.IntN(expHi-expLo+1))<<10 | uint16(e.rng.IntN(1024))
		binary.LittleEndian.PutUint16(p, h)
	}
	_, bs := t.BlockSize()
	switch t {
	case cputwin.F32:
		for i := 0; i < len(b); i += 4 {
			binary.LittleEndian.PutUint32(b[i:], math.Float32bits(2*e.rng.Float32()-1))
		}
	case cputwin.F16:
		for i := 0; i < len(b); i += 2 {
			half(b[i:], 8, 15)
		}
	case cputwin.BF16:
		for i := 0; i < len(b); i += 2 {
			v := uint16(e.rng.IntN(2))<<15 | uint16(118+e.rng.IntN(9))<<7 | uint16(e.rng.IntN(128))
			binary.LittleEndian.PutUint16(b[i:], v)
		}
	case cputwin.Q8_0:
		for i := 0; i < len(b); i += bs {
			half(b[i:], 5, 8)
		}
	case cputwin.Q4_K, cputwin.Q5_K:
		for i := 0; i < len(b); i += bs {
			half(b[i:], 5, 8)
			half(b[i+2:], 5, 8)
		}
	case cputwin.Q6_K:
		for i := 0; i < len(b); i += bs {
			half(b[i+208:], 3, 6)
		}
	case cputwin.MXFP4:
		for i := 0; i < len(b); i += bs {
			b[i] = byte(118 + e.rng.IntN(10))
		}
	}
	return b
}

func TestGetRowsGPU(t *testing.T) {
	e := newEnv(t)
	const n, rows = 512, 37
	for _, wt := range cputwin.WeightTypes {
		table := e.randomWeights(wt, n, rows)
		ids := []int32{0, 36, 5, 5, 17, 2, 30, 11, 8}
		want, err := cputwin.GetRows(wt, table, int64(len(table)/rows), ids, n)
		if err != nil {
			t.Fatal(err)
		}
		out := e.out(len(want))
		if err := e.k.GetRows(nil, wt, e.upload(table), e.devI(ids), out, n, len(ids)); err != nil {
			t.Fatal(err)
		}
		e.compare("get_rows_"+wt.String(), e.read(out, len(want)), want, 0)
	}
}

func TestMatMulGPU(t *testing.T) {
	e := newEnv(t)
	// The CUDA-core kernel at every batch size (TestGemmGPU tests the
	// tensor-core one that MatMul picks for batches).
	k := *e.k
	k.GemmMinTokens = 0
	e.k = &k
	const nIn, nOut = 2816, 301
	for _, wt := range cputwin.WeightTypes {
		w := e.randomWeights(wt, nIn, nOut)
		dw := e.upload(w)
		for _, nTok := range []int{1, 5, 19} {
			x := e.floats(nTok*nIn, 1)
			var bias []float32
			var db cuda.DevicePtr
			if nTok != 5 {
				bias = e.floats(nOut, 1)
				db = e.dev(bias)
			}
			want, err := cputwin.MatMul(wt, w, x, bias, nIn, nOut)
			if err != nil {
				t.Fatal(err)
			}
			y := e.out(len(want))
			if err := e.k.MatMul(nil, wt, dw, e.dev(x), nIn, y, nOut, db, nIn, nOut, nTok); err != nil {
				t.Fatal(err)
			}
			e.compare(fmt.Sprintf("matmul_%s tok=%d", wt, nTok), e.read(y, len(want)), want, 2e-5)
		}
		// The per-element paths: weights 4 bytes off 16-byte alignment, and
		// activations misaligned with an odd stride.
		const nTok = 3
		x := e.floats(nTok*nIn, 1)
		want, _ := cputwin.MatMul(wt, w, x, nil, nIn, nOut)
		y := e.out(len(want))
		if err := e.k.MatMul(nil, wt, e.upload(append(make([]byte, 4), w...))+4, e.dev(x), nIn, y, nOut, 0, nIn, nOut, nTok); err != nil {
			t.Fatal(err)
		}
		e.compare(fmt.Sprintf("matmul_%s unaligned weights", wt), e.read(y, len(want)), want, 2e-5)
		xs := make([]float32, 1+nTok*(nIn+1))
		for tk := 0; tk < nTok; tk++ {
			copy(xs[1+tk*(nIn+1):], x[tk*nIn:(tk+1)*nIn])
		}
		if err := e.k.MatMul(nil, wt, dw, e.dev(xs)+4, nIn+1, y, nOut, 0, nIn, nOut, nTok); err != nil {
			t.Fatal(err)
		}
		e.compare(fmt.Sprintf("matmul_%s unaligned activations", wt), e.read(y, len(want)), want, 2e-5)
	}
	// Float rows whose length is not a multiple of 32.
	for _, wt := range []cputwin.WeightType{cputwin.F32, cputwin.F16, cputwin.BF16} {
		const n, nTok = 300, 4
		w := e.randomWeights(wt, n, nOut)
		x := e.floats(nTok*n, 1)
		want, _ := cputwin.MatMul(wt, w, x, nil, n, nOut)
		y := e.out(len(want))
		if err := e.k.MatMul(nil, wt, e.upload(w), e.dev(x), n, y, nOut, 0, n, nOut, nTok); err != nil {
			t.Fatal(err)
		}
		e.compare(fmt.Sprintf("matmul_%s n_in=300", wt), e.read(y, len(want)), want, 2e-5)
	}
}

func TestMatMulIDGPU(t *testing.T) {
	e := newEnv(t)
	const nIn, nOut, nExp = 512, 200, 6
	for _, wt := range cputwin.WeightTypes {
		w := e.randomWeights(wt, nIn, nOut*nExp)
		expertBytes := int64(len(w) / nExp)
		bias := e.floats(nOut*nExp, 1)
		ids := []int32{3, 0, 5, 3, 1, 2} // 3 tokens x 2 slots
		for _, xDiv := range []int{2, 1} {
			x := e.floats(len(ids)/xDiv*nIn, 1)
			want, err := cputwin.MatMulID(wt, w, expertBytes, ids, x, xDiv, bias, nIn, nOut)
			if err != nil {
				t.Fatal(err)
			}
			y := e.out(len(want))
			if err := e.k.MatMulID(nil, wt, e.upload(w), expertBytes, e.devI(ids), e.dev(x), nIn, xDiv, y, nOut, e.dev(bias), nOut, nIn, nOut, len(ids)); err != nil {
				t.Fatal(err)
			}
			e.compare(fmt.Sprintf("matmul_id_%s xdiv=%d", wt, xDiv), e.read(y, len(want)), want, 2e-5)
		}
	}
}

func TestNormsGPU(t *testing.T) {
	e := newEnv(t)
	const n, rows, stride = 2880, 7, 3000
	xs := e.floats(rows*stride, 3)
	x := make([]float32, 0, rows*n)
	for r := 0; r < rows; r++ {
		x = append(x, xs[r*stride:r*stride+n]...)
	}
	w, b := e.floats(n, 2), e.floats(n, 1)
	dx, dw, db := e.dev(xs), e.dev(w), e.dev(b)
	for _, withW := range []bool{true, false} {
		var ww []float32
		var dww cuda.DevicePtr
		if withW {
			ww, dww = w, dw
		}
		y := e.out(rows * n)
		if err := e.k.RMSNorm(nil, dx, stride, y, n, dww, n, rows, 1e-5); err != nil {
			t.Fatal(err)
		}
		e.compare(fmt.Sprintf("rms_norm_f32 weight=%v", withW), e.read(y, rows*n), cputwin.RMSNorm(x, ww, n, 1e-5), 1e-5)
	}
	y := e.out(rows * n)
	if err := e.k.LayerNorm(nil, dx, stride, y, n, dw, db, n, rows, 1e-5); err != nil {
		t.Fatal(err)
	}
	e.compare("layer_norm_f32", e.read(y, rows*n), cputwin.LayerNorm(x, w, b, n, 1e-5), 1e-5)
}

func TestRopeGPU(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name  string
		p     cputwin.RopeParams
		freqs []float32
	}{
		{"neox yarn gpt-oss", cputwin.RopeParams{TokStride: 64 * 64, HeadStride: 64, NHead: 64, NTok: 9, NRot: 64, MScale: 1.3465736, NeoX: true},
			cputwin.YaRNFreqs(64, 150000, 32, 4096, 32, 1, false)},
		{"neox longrope phimoe", cputwin.RopeParams{TokStride: 32 * 128, HeadStride: 128, NHead: 32, NTok: 5, NRot: 128, MScale: 1.2431631, NeoX: true},
			cputwin.LongRoPEFreqs(128, 10000, e.floats(64, 1))},
		{"normal deepseek", cputwin.RopeParams{TokStride: 16 * 128, HeadStride: 128, NHead: 16, NTok: 6, NRot: 128, MScale: 1},
			cputwin.RopeFreqs(128, 10000)},
		{"normal yarn deepseek2 q_pe", cputwin.RopeParams{TokStride: 16 * 192, HeadStride: 192, NHead: 16, NTok: 4, RotOff: 128, NRot: 64, MScale: 1},
			cputwin.YaRNFreqs(64, 10000, 40, 4096, 32, 1, true)},
	}
	for _, c := range cases {
		// LongRoPE factors must be positive.
		for i := range c.freqs {
			c.freqs[i] = float32(math.Abs(float64(c.freqs[i]))) + 1e-3
		}
		x := e.floats(c.p.NTok*c.p.TokStride, 2)
		pos := make([]int32, c.p.NTok)
		for i := range pos {
			pos[i] = int32(e.rng.IntN(6000))
		}
		dx := e.dev(x)
		if err := e.k.Rope(nil, dx, c.p, e.devI(pos), e.dev(c.freqs)); err != nil {
			t.Fatal(err)
		}
		want := append([]float32(nil), x...)
		cputwin.Rope(want, c.p, pos, c.freqs)
		e.compare("rope_f32 "+c.name, e.read(dx, len(x)), want, 2e-5)
	}
}

// halves rounds x to half precision: the cache rows (as uint16) and their
// float32 values (what the twin reads).
func halves(x []float32) ([]uint16, []float32) {
	h, f := make([]uint16, len(x)), make([]float32, len(x))
	for i, v := range x {
		h[i] = cputwin.Float32ToHalf(v)
		f[i] = cputwin.HalfToFloat32(h[i])
	}
	return h, f
}

func (e *gpuEnv) devH(x []uint16) cuda.DevicePtr {
	b := make([]byte, 2*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return e.upload(b)
}

func TestAttentionGPU(t *testing.T) {
	e := newEnv(t)
	type tc struct {
		name       string
		nTok, pos0 int
		nh, nkv    int
		dk, dv     int
		window     int
		sinks, mla bool
		cells      int // 0: no ring
	}
	cases := []tc{
		{"decode gqa sinks window", 1, 300, 8, 2, 64, 64, 128, true, false, 0},
		{"decode gqa full long", 1, 1500, 8, 2, 64, 64, 0, true, false, 0},
		{"prefill causal", 37, 0, 4, 4, 128, 128, 0, false, false, 0},
		{"prefill chunk window", 20, 100, 8, 1, 64, 64, 16, true, false, 0},
		{"decode mla absorbed", 1, 200, 16, 1, 576, 512, 0, false, true, 0},
		{"prefill mla absorbed", 9, 50, 4, 1, 96, 64, 0, false, true, 0},
		{"decode ring window", 1, 1000, 8, 2, 64, 64, 128, true, false, 129},
		{"prefill ring window wraps", 48, 300, 8, 1, 64, 64, 128, true, false, 128 + 48},
	}
	for _, c := range cases {
		p := cputwin.AttentionParams{
			QTokStride: c.nh * c.dk, QHeadStride: c.dk,
			KPosStride: c.nkv * c.dk, KHeadStride: c.dk,
			VPosStride: c.nkv * c.dv, VHeadStride: c.dv,
			OTokStride: c.nh * c.dv, OHeadStride: c.dv,
			NTok: c.nTok, NHead: c.nh, NHeadKV: c.nkv, DK: c.dk, DV: c.dv,
			Pos0: c.pos0, Window: c.window, Cells: c.cells, Scale: float32(1 / math.Sqrt(float64(c.dk))),
		}
		rows := p.CacheRows()
		q := e.floats(c.nTok*p.QTokStride, 1)
		kh, k := halves(e.floats(rows*p.KPosStride, 1))
		vh, v := halves(e.floats(rows*p.VPosStride, 1))
		dk := e.devH(kh)
		dv := e.devH(vh)
		if c.mla { // V is the first dv values of each K row
			p.VPosStride, p.VHeadStride = p.KPosStride, p.KHeadStride
			v, dv = k, dk
		}
		var sinks []float32
		var ds cuda.DevicePtr
		if c.sinks {
			sinks = e.floats(c.nh, 3)
			ds = e.dev(sinks)
		}
		want := cputwin.Attention(p, q, k, v, sinks)
		out := e.out(len(want))
		if err := e.k.Attention(nil, p, e.dev(q), dk, dv, ds, out); err != nil {
			t.Fatal(err)
		}
		e.compare("attention_f16 "+c.name, e.read(out, len(want)), want, 2e-5)
	}
}

// TestKVStoreGPU: kv_store_f16 rounds like the twin (bit-exact) and writes
// into ring rows, leaving the other rows alone.
func TestKVStoreGPU(t *testing.T) {
	e := newEnv(t)
	const width, stride, srcStride, nTok, pos0, cells = 96, 100, 130, 9, 13, 16
	src := e.floats(nTok*srcStride, 70000) // past half's range too: ±Inf
	for i := range 64 {
		src[i] = float32(i-32) * 1e-6 // subnormals
	}
	fill := make([]uint16, cells*stride)
	for i := range fill {
		fill[i] = 0x7e01 // a NaN marker
	}
	want := append([]uint16(nil), fill...)
	cputwin.KVStore(src, srcStride, want, stride, width, nTok, pos0, cells)
	dst := e.devH(fill)
	if err := e.k.KVStore(nil, e.dev(src), srcStride, dst, stride, width, nTok, pos0, cells); err != nil {
		t.Fatal(err)
	}
	if err := e.ctx.Synchronize(); err != nil {
		t.Fatal(err)
	}
	got := make([]uint16, len(want))
	if err := e.ctx.API().MemcpyDtoH(unsafe.Pointer(&got[0]), dst, uint64(2*len(got))); err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i := range want {
		if got[i] != want[i] {
			if bad++; bad < 5 {
				t.Errorf("cache element %d (row %d): GPU %#04x, twin %#04x", i, i/stride, got[i], want[i])
			}
		}
	}
	status := "PASS"
	if bad > 0 {
		status = "FAIL"
	}
	fmt.Printf("GPUCHECK %-40s mismatches %d of %d %s\n", "kv_store_f16 ring", bad, len(want), status)
}

func TestRouterGPU(t *testing.T) {
	e := newEnv(t)
	const nTok = 70
	cases := []struct {
		name string
		p    cputwin.RouterParams
	}{
		{"softmax_topk deepseek", cputwin.RouterParams{NExp: 64, K: 6, Mode: cputwin.SoftmaxTopK, Scale: 1}},
		{"softmax_topk norm scale", cputwin.RouterParams{NExp: 160, K: 8, Mode: cputwin.SoftmaxTopK, Norm: true, Scale: 2.5}},
		{"topk_softmax gpt-oss", cputwin.RouterParams{NExp: 32, K: 4, Mode: cputwin.TopKSoftmax, Scale: 1}},
		{"sparsemixer phimoe", cputwin.RouterParams{NExp: 16, K: 2, Mode: cputwin.SparseMixer, Scale: 1, Eps: 0.01}},
		{"sigmoid_topk norm", cputwin.RouterParams{NExp: 256, K: 8, Mode: cputwin.SigmoidTopK, Norm: true, Scale: 2.5}},
	}
	for _, c := range cases {
		logits := e.floats(nTok*c.p.NExp, 4)
		if c.p.Mode == cputwin.SparseMixer { // make near-ties within 2% common
			for i := 0; i < len(logits); i += 3 {
				logits[i] = 3 + 0.05*e.rng.Float32()
			}
		}
		wantIDs, wantW := cputwin.Router(logits, c.p)
		ids := e.out(len(wantIDs))
		w := e.out(len(wantW))
		if err := e.k.Router(nil, e.dev(logits), c.p, ids, w, nTok); err != nil {
			t.Fatal(err)
		}
		gotIDs := e.read(ids, len(wantIDs))
		for i, id := range wantIDs {
			if got := int32(math.Float32bits(gotIDs[i])); got != id {
				t.Errorf("router %s: id[%d] = %d, want %d", c.name, i, got, id)
				break
			}
		}
		e.compare("router_f32 "+c.name, e.read(w, len(wantW)), wantW, 2e-6)
	}
}

func TestGLUGPU(t *testing.T) {
	e := newEnv(t)
	const n, rows = 2880, 6
	g, u := e.floats(n*rows, 12), e.floats(n*rows, 12)
	for _, mode := range []cputwin.GLUMode{cputwin.SwiGLU, cputwin.SwiGLUOAI} {
		y := e.out(n * rows)
		if err := e.k.GLU(nil, mode, e.dev(g), n, e.dev(u), n, y, n, n, rows, 1.702, 7); err != nil {
			t.Fatal(err)
		}
		e.compare(fmt.Sprintf("swiglu_f32 mode=%d", mode), e.read(y, n*rows), cputwin.GLU(g, u, mode, 1.702, 7), 2e-6)
	}
}

func TestElementwiseGPU(t *testing.T) {
	e := newEnv(t)
	const n, rows, k = 2880, 5, 4
	a, b, bias := e.floats(n*rows, 3), e.floats(n*rows, 3), e.floats(n, 1)
	y := e.out(n * rows)
	if err := e.k.Add(nil, e.dev(a), e.dev(b), y, n*rows, n*rows); err != nil {
		t.Fatal(err)
	}
	e.compare("add_f32", e.read(y, n*rows), cputwin.Add(a, b), 0)
	if err := e.k.Add(nil, e.dev(a), e.dev(bias), y, n*rows, n); err != nil {
		t.Fatal(err)
	}
	e.compare("add_f32 broadcast", e.read(y, n*rows), cputwin.Add(a, bias), 0)
	if err := e.k.Scale(nil, e.dev(a), y, n*rows, 0.37); err != nil {
		t.Fatal(err)
	}
	e.compare("scale_f32", e.read(y, n*rows), cputwin.Scale(a, 0.37), 0)
	ys, w := e.floats(n*rows*k, 2), e.floats(rows*k, 1)
	out := e.out(n * rows)
	if err := e.k.MoESum(nil, e.dev(ys), e.dev(w), out, n, k, rows, false); err != nil {
		t.Fatal(err)
	}
	e.compare("moe_sum_f32", e.read(out, n*rows), cputwin.MoESum(ys, w, nil, n, k), 1e-6)
	base := e.floats(n*rows, 1)
	db := e.dev(base)
	if err := e.k.MoESum(nil, e.dev(ys), e.dev(w), db, n, k, rows, true); err != nil {
		t.Fatal(err)
	}
	e.compare("moe_sum_f32 accumulate", e.read(db, n*rows), cputwin.MoESum(ys, w, base, n, k), 1e-6)
}

// TestMatVecBandwidthGPU times decode-shaped products (one token) per type
// and logs the weight bytes read per second: the kernels' speed, not a
// pass/fail check (timing lives in tests only as a logged measurement).
func TestMatVecBandwidthGPU(t *testing.T) {
	e := newEnv(t)
	const nIn, nOut, reps = 4096, 8192, 20
	start, _ := e.ctx.NewEvent(true)
	end, _ := e.ctx.NewEvent(true)
	for _, wt := range cputwin.WeightTypes {
		w := e.randomWeights(wt, nIn, nOut)
		dw, x, y := e.upload(w), e.dev(e.floats(nIn, 1)), e.out(nOut)
		for i := 0; i < 3; i++ {
			e.k.MatMul(nil, wt, dw, x, nIn, y, nOut, 0, nIn, nOut, 1)
		}
		start.Record(nil)
		for i := 0; i < reps; i++ {
			e.k.MatMul(nil, wt, dw, x, nIn, y, nOut, 0, nIn, nOut, 1)
		}
		end.Record(nil)
		if err := end.Synchronize(); err != nil {
			t.Fatal(err)
		}
		ms, _ := cuda.Elapsed(start, end)
		per := float64(ms) / reps
		fmt.Printf("GPUBW matvec_%-6s %dx%d: %.3f ms, %.0f GB/s of weights\n", wt, nOut, nIn, per, float64(len(w))/per/1e6)
	}
}

func ptrOf(x []float32) unsafe.Pointer { return unsafe.Pointer(&x[0]) }
