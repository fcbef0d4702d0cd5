//go:build cuda

package ops

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"testing"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
)

// gemmTol bounds ‖got − want‖ / ‖want‖ for the tensor-core kernel: TF32
// operands (11 significant bits) give about 3e-4 on random data.
const gemmTol = 1e-3

// compareNorm checks got against want by relative Frobenius error, and
// that no element is NaN (unwritten: outputs are poisoned with NaN).
func (e *gpuEnv) compareNorm(name string, got, want []float32, tol float64) {
	e.t.Helper()
	var num, den float64
	for i := range want {
		if math.IsNaN(float64(got[i])) {
			e.t.Errorf("%s: element %d is NaN (unwritten or invalid), want %v", name, i, want[i])
			return
		}
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	rel := math.Sqrt(num / math.Max(den, 1e-300))
	status := "PASS"
	if rel > tol {
		status = "FAIL"
		e.t.Errorf("%s: ‖got−want‖/‖want‖ = %.3g > tol %.1g", name, rel, tol)
	}
	fmt.Printf("GPUCHECK %-48s rel_l2 %.3e (n %d) %s\n", name, rel, len(want), status)
}

// TestGemmGPU runs the tensor-core product (MatMul at or above
// GemmMinTokens) on every weight type against the float64 twin, on shapes
// that leave partial tiles (weight rows and tokens not multiples of 64, an
// odd number of 32-element units), with strided and misaligned activations,
// strided outputs whose gaps must stay untouched, and biases.
func TestGemmGPU(t *testing.T) {
	e := newEnv(t)
	for _, variant := range []string{"gemm", "gemm8"} {
		k := *e.k
		k.GemmMinTokens = 1
		// The block shape follows the grid size and the multiprocessor count:
		// pretend to have none (gemm_T always) or very many (gemm8_T always).
		k.gemm.sms = 0
		if variant == "gemm8" {
			k.gemm.sms = 1 << 20
		}
		testGemm(e, &k, variant)
	}
}

func testGemm(e *gpuEnv, k *Kernels, variant string) {
	t := e.t
	for _, wt := range cputwin.WeightTypes {
		nIn := 2912 // 91 units: the last step has one unit
		if el, _ := wt.BlockSize(); el == 256 {
			nIn = 2816
		}
		for _, c := range []struct {
			nOut, nTok, xPad, yPad int
			xOff                   int // floats the activations start past 16-byte alignment
			bias                   bool
		}{
			{301, 77, 0, 0, 0, true},
			{64, 64, 0, 0, 0, false},
			{130, 200, 3, 5, 1, true},
			{17, 1, 0, 2, 0, false},
		} {
			w := e.randomWeights(wt, nIn, c.nOut)
			x := e.floats(c.nTok*nIn, 4)
			var bias []float32
			var db cuda.DevicePtr
			if c.bias {
				bias = e.floats(c.nOut, 1)
				db = e.dev(bias)
			}
			want, err := cputwin.MatMul(wt, w, x, bias, nIn, c.nOut)
			if err != nil {
				t.Fatal(err)
			}
			xs, ys := nIn+c.xPad, c.nOut+c.yPad
			xb := make([]float32, c.xOff+c.nTok*xs)
			for tk := 0; tk < c.nTok; tk++ {
				copy(xb[c.xOff+tk*xs:], x[tk*nIn:(tk+1)*nIn])
			}
			dw, dx := e.upload(w), e.dev(xb)+cuda.DevicePtr(4*c.xOff)
			y := e.out(c.nTok * ys)
			name := fmt.Sprintf("%s_%s %dx%d tok=%d xs=%d ys=%d", variant, wt, c.nOut, nIn, c.nTok, xs, ys)
			var first []float32
			for rep := 0; rep < 2; rep++ {
				if err := k.MatMul(nil, wt, dw, dx, xs, y, ys, db, nIn, c.nOut, c.nTok); err != nil {
					t.Fatal(err)
				}
				all := e.read(y, c.nTok*ys)
				got := make([]float32, 0, len(want))
				for tk := 0; tk < c.nTok; tk++ {
					got = append(got, all[tk*ys:tk*ys+c.nOut]...)
					for o := c.nOut; o < ys; o++ {
						if v := all[tk*ys+o]; !math.IsNaN(float64(v)) {
							t.Fatalf("%s: wrote %v into the output gap at token %d, column %d", name, v, tk, o)
						}
					}
				}
				if rep == 0 {
					e.compareNorm(name, got, want, gemmTol)
					first = got
				} else if !slices.Equal(first, got) {
					// Each output has one owner and a fixed summation order.
					t.Errorf("%s: two runs on the same inputs differ (a race)", name)
				}
			}
		}
	}
}

// TestGemmLargeActivationsGPU feeds activations of magnitude 1e5-1e6 (f16
// would overflow) and weights whose MXFP4 scales are far from 1.
func TestGemmLargeActivationsGPU(t *testing.T) {
	e := newEnv(t)
	k := *e.k
	k.GemmMinTokens = 1
	const nIn, nOut, nTok = 2880, 200, 70
	for _, wt := range []cputwin.WeightType{cputwin.MXFP4, cputwin.F16, cputwin.Q8_0} {
		w := e.randomWeights(wt, nIn, nOut)
		if wt == cputwin.MXFP4 {
			for i := 0; i < len(w); i += 17 {
				w[i] = byte(90 + e.rng.IntN(70)) // scales 2^-38 .. 2^31
			}
		}
		x := e.floats(nTok*nIn, 1e6)
		want, _ := cputwin.MatMul(wt, w, x, nil, nIn, nOut)
		y := e.out(len(want))
		if err := k.MatMul(nil, wt, e.upload(w), e.dev(x), nIn, y, nOut, 0, nIn, nOut, nTok); err != nil {
			t.Fatal(err)
		}
		e.compareNorm(fmt.Sprintf("gemm_%s large activations", wt), e.read(y, len(want)), want, gemmTol)
	}
}

// TestGemmSpeedGPU times 2880x2880 products (gpt-oss-20b's expert and
// attention widths) on the CUDA-core kernel and the tensor-core kernel over
// batch sizes, rotating among weight sets larger than the L2 cache together.
// It logs GPUGEMM lines (median of reps); it checks nothing about speed.
func TestGemmSpeedGPU(t *testing.T) {
	e := newEnv(t)
	const nIn, nOut, sets, reps = 2880, 2880, 6, 15
	start, _ := e.ctx.NewEvent(true)
	end, _ := e.ctx.NewEvent(true)
	old, tc := *e.k, *e.k
	old.GemmMinTokens, tc.GemmMinTokens = 0, 1
	for _, wt := range cputwin.WeightTypes {
		toks := []int{512}
		if wt == cputwin.MXFP4 || wt == cputwin.F16 {
			toks = []int{8, 12, 16, 24, 32, 64, 128, 512}
		}
		nIn := nIn
		if el, _ := wt.BlockSize(); el == 256 {
			nIn = 2816 // K-quant rows are whole 256-element blocks
		}
		var ws []cuda.DevicePtr
		for i := 0; i < sets; i++ {
			ws = append(ws, e.upload(e.randomWeights(wt, nIn, nOut)))
		}
		x := e.dev(e.floats(512*nIn, 1))
		y := e.out(512 * nOut)
		for _, nTok := range toks {
			var ms [2]float64
			for ki, kk := range []*Kernels{&old, &tc} {
				run := func(i int) {
					if err := kk.MatMul(nil, wt, ws[i%sets], x, nIn, y, nOut, 0, nIn, nOut, nTok); err != nil {
						t.Fatal(err)
					}
				}
				for i := 0; i < 3; i++ {
					run(i)
				}
				var times []float64
				for i := 0; i < reps; i++ {
					start.Record(nil)
					run(i)
					end.Record(nil)
					if err := end.Synchronize(); err != nil {
						t.Fatal(err)
					}
					m, _ := cuda.Elapsed(start, end)
					times = append(times, float64(m))
				}
				sort.Float64s(times)
				ms[ki] = times[len(times)/2]
			}
			tflops := func(m float64) float64 { return 2 * float64(nIn) * nOut * float64(nTok) / m / 1e9 }
			fmt.Printf("GPUGEMM %-6s %dx%d tok=%-4d cuda-core %8.3f ms (%6.2f TFLOP/s)  tensor-core %8.3f ms (%6.2f TFLOP/s)  x%.2f\n",
				wt, nOut, nIn, nTok, ms[0], tflops(ms[0]), ms[1], tflops(ms[1]), ms[0]/ms[1])
		}
	}
}

// TestGemmGroupedGPU runs MatMulGrouped on every weight type against the
// twin: groups of uneven sizes (one row, several tiles, a partial tile), a
// matrix used by two groups, strided rows and per-matrix biases.
func TestGemmGroupedGPU(t *testing.T) {
	e := newEnv(t)
	const nOut, nMat, xPad, yPad = 200, 5, 3, 1
	groups := []int32{3, 0, 70, 0, 70, 1, 4, 71, 130, 3, 201, 17, 1, 218, 64}
	const nRows = 282
	for _, wt := range cputwin.WeightTypes {
		nIn := 2880
		if el, _ := wt.BlockSize(); el == 256 {
			nIn = 2816
		}
		w := e.randomWeights(wt, nIn, nOut*nMat)
		mb := int64(len(w) / nMat)
		x, bias := e.floats(nRows*nIn, 2), e.floats(nOut*nMat, 1)
		want, err := cputwin.MatMulGrouped(wt, w, mb, groups, x, bias, nIn, nOut, nRows)
		if err != nil {
			t.Fatal(err)
		}
		xs, ys := nIn+xPad, nOut+yPad
		xb := make([]float32, nRows*xs)
		for r := 0; r < nRows; r++ {
			copy(xb[r*xs:], x[r*nIn:(r+1)*nIn])
		}
		y := e.out(nRows * ys)
		if err := e.k.MatMulGrouped(nil, wt, e.upload(w), mb, e.devI(groups), len(groups)/3, 130, e.dev(xb), xs, y, ys, e.dev(bias), nOut, nIn, nOut); err != nil {
			t.Fatal(err)
		}
		all := e.read(y, nRows*ys)
		got := make([]float32, 0, len(want))
		for r := 0; r < nRows; r++ {
			got = append(got, all[r*ys:r*ys+nOut]...)
			if v := all[r*ys+nOut]; !math.IsNaN(float64(v)) {
				t.Fatalf("gemm_grouped_%s: wrote %v into the output gap of row %d", wt, v, r)
			}
		}
		e.compareNorm(fmt.Sprintf("gemm_grouped_%s %dx%d 5 groups", wt, nOut, nIn), got, want, gemmTol)
	}
}

// TestGemmExpertsSpeedGPU times the routed-expert products of one gpt-oss-20b
// layer at pp512 (2048 pairs over 32 MXFP4 experts of 2880x2880, 64 each):
// one MatMul per expert on CUDA cores, one per expert on tensor cores, and
// one MatMulGrouped launch. It logs GPUGEMM lines; it checks nothing.
func TestGemmExpertsSpeedGPU(t *testing.T) {
	e := newEnv(t)
	const nIn, nOut, nExp, per, reps = 2880, 2880, 32, 64, 9
	wt := cputwin.MXFP4
	w := e.randomWeights(wt, nIn, nOut*nExp)
	mb := int64(len(w) / nExp)
	dw := e.upload(w)
	x, y := e.dev(e.floats(nExp*per*nIn, 1)), e.out(nExp*per*nOut)
	var groups []int32
	for i := 0; i < nExp; i++ {
		groups = append(groups, int32(nExp-1-i), int32(i*per), per)
	}
	dg := e.devI(groups)
	old, tc := *e.k, *e.k
	old.GemmMinTokens, tc.GemmMinTokens = 0, 1
	start, _ := e.ctx.NewEvent(true)
	end, _ := e.ctx.NewEvent(true)
	perExpert := func(k *Kernels) func() error {
		return func() error {
			for i := 0; i < nExp; i++ {
				if err := k.MatMul(nil, wt, dw+cuda.DevicePtr(int64(nExp-1-i)*mb), x+cuda.DevicePtr(4*i*per*nIn), nIn, y+cuda.DevicePtr(4*i*per*nOut), nOut, 0, nIn, nOut, per); err != nil {
					return err
				}
			}
			return nil
		}
	}
	grouped := func() error {
		return e.k.MatMulGrouped(nil, wt, dw, mb, dg, nExp, per, x, nIn, y, nOut, 0, 0, nIn, nOut)
	}
	var ms [3]float64
	for vi, run := range []func() error{perExpert(&old), perExpert(&tc), grouped} {
		var times []float64
		for i := 0; i < reps+2; i++ {
			start.Record(nil)
			if err := run(); err != nil {
				t.Fatal(err)
			}
			end.Record(nil)
			if err := end.Synchronize(); err != nil {
				t.Fatal(err)
			}
			m, _ := cuda.Elapsed(start, end)
			if i >= 2 {
				times = append(times, float64(m))
			}
		}
		sort.Float64s(times)
		ms[vi] = times[len(times)/2]
	}
	fmt.Printf("GPUGEMM experts mxfp4 32x(%dx%d) x %d tok each: cuda-core per expert %.3f ms, tensor-core per expert %.3f ms (x%.2f), grouped launch %.3f ms (x%.2f)\n",
		nOut, nIn, per, ms[0], ms[1], ms[0]/ms[1], ms[2], ms[0]/ms[2])
}
