//go:build cuda

package ops

import (
	"fmt"
	"testing"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
)

// mvCandidate is one matvec.cu entry point with the grid rows per block and
// threads per block it is launched with.
type mvCandidate struct {
	name    string
	rows    int // outputs per block (per warp for the former kernels)
	threads int
	perWarp bool // matvec_warp_: rows per warp, 4 warps a block
}

func (c mvCandidate) grid(nOut int, y uint32) cuda.Dim3 {
	per := c.rows
	if c.perWarp {
		per *= c.threads / 32
	}
	return cuda.Dim3{X: ceilDiv(nOut, per), Y: y, Z: 1}
}

func (c mvCandidate) block() cuda.Dim3 { return cuda.Dim3{X: uint32(c.threads), Y: 1, Z: 1} }

// timeLaunches runs launch(i) for a warm-up and then n times in each of 3
// trials, and returns the fastest trial's milliseconds per launch (CUDA
// events around the launches).
func (e *gpuEnv) timeLaunches(n int, launch func(i int) error) float64 {
	e.t.Helper()
	start, _ := e.ctx.NewEvent(true)
	end, _ := e.ctx.NewEvent(true)
	defer start.Destroy()
	defer end.Destroy()
	for i := 0; i < 5; i++ {
		if err := launch(i); err != nil {
			e.t.Fatal(err)
		}
	}
	best := 0.0
	for trial := 0; trial < 3; trial++ {
		start.Record(nil)
		for i := 0; i < n; i++ {
			if err := launch(i); err != nil {
				e.t.Fatal(err)
			}
		}
		end.Record(nil)
		if err := end.Synchronize(); err != nil {
			e.t.Fatal(err)
		}
		ms, _ := cuda.Elapsed(start, end)
		if per := float64(ms) / float64(n); trial == 0 || per < best {
			best = per
		}
	}
	return best
}

// rotation gives how many copies of a matrix of b bytes keep repeated
// launches from reading it out of the 50 MB L2 cache (decode reads each
// weight once per token), and how many launches make a timing trial.
func rotation(b int64) (copies, launches int) {
	copies = int(max(1, (512<<20)/b))
	launches = int(min(2000, max(20, (4<<30)/b)))
	return copies, launches
}

// TestMatVecDecodeShapesGPU times matvec.cu's kernels — each row shape of
// matvecEntries, and matvec_warp_ for its types — on
// gpt-oss-20b's decode products (one token; each launch reads weights not
// in L2) and checks each against the CPU twin. Logged as GPUBW lines: the
// weights' bytes over the time per launch.
func TestMatVecDecodeShapesGPU(t *testing.T) {
	e := newEnv(t)

	// Routed experts: 4 of 32 experts of 2880x2880 MXFP4 (gate, up and
	// down are separate launches in runtime/gpu), one input row for all
	// four (x_div 4, as gate and up), expert biases.
	{
		const nIn, nOut, nExp, k = 2880, 2880, 32, 4
		wt := cputwin.MXFP4
		w := e.randomWeights(wt, nIn, nOut*nExp)
		eb := int64(len(w) / nExp)
		dw := e.upload(w)
		bias := e.floats(nOut*nExp, 1)
		db := e.dev(bias)
		x := e.floats(nIn, 1)
		dx := e.dev(x)
		const sets = 64
		ids := make([]int32, sets*k)
		for s := 0; s < sets; s++ {
			for j, p := range e.rng.Perm(nExp)[:k] {
				ids[s*k+j] = int32(p)
			}
		}
		dids := e.devI(ids)
		want, err := cputwin.MatMulID(wt, w, eb, ids[:k], x, k, bias, nIn, nOut)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := cputwin.RowBytes(wt, nIn)
		y := e.out(k * nOut)
		for _, c := range []mvCandidate{{"matvec_id_mxfp4", mvIDRows, mvThreads, false}} {
			launch := func(i int) error {
				return e.k.launch(c.name, nil, c.grid(nOut, k), c.block(), dw, rb, eb, dids+cuda.DevicePtr(4*k*(i%sets)), dx, nIn, k, y, nOut, db, nOut, nIn, nOut, k)
			}
			if err := launch(0); err != nil {
				t.Fatal(err)
			}
			e.compare(c.name+" 4x2880x2880", e.read(y, k*nOut), want, 2e-5)
			ms := e.timeLaunches(200, launch)
			fmt.Printf("GPUBW %-16s 4 experts x 2880x2880 mxfp4: %7.2f us, %5.0f GB/s of weights\n", c.name, ms*1e3, float64(k*eb)/ms/1e6)
		}
	}

	// F16 projections of gpt-oss-20b (2880 wide; q 4096, k/v 512, o back to
	// 2880) and its output head (201,088 x 2880, 1.16 GB); the projections
	// and head in Q8_0 too (the q8_0 layout).
	for _, sh := range []struct {
		wt        cputwin.WeightType
		nIn, nOut int
	}{{cputwin.F16, 2880, 4096}, {cputwin.F16, 4096, 2880}, {cputwin.F16, 2880, 512}, {cputwin.F16, 2880, 201088},
		{cputwin.Q8_0, 2880, 4096}, {cputwin.Q8_0, 4096, 2880}, {cputwin.Q8_0, 2880, 512}, {cputwin.Q8_0, 2880, 201088}} {
		wt := sh.wt
		w := e.randomWeights(wt, sh.nIn, sh.nOut)
		mb := int64(len(w))
		copies, n := rotation(mb)
		buf, err := e.ctx.Alloc(uint64(mb) * uint64(copies))
		if err != nil {
			t.Fatal(err)
		}
		if err := buf.Upload(0, w); err != nil {
			t.Fatal(err)
		}
		x := e.floats(sh.nIn, 1)
		dx := e.dev(x)
		want, err := cputwin.MatMul(wt, w, x, nil, sh.nIn, sh.nOut)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := cputwin.RowBytes(wt, sh.nIn)
		y := e.out(sh.nOut)
		ts := wt.String()
		var cands []mvCandidate
		for _, me := range matvecEntries {
			cands = append(cands, mvCandidate{me.prefix + ts, me.rows, mvThreads, false})
		}
		if matvecWarpTypes[wt] {
			cands = append(cands, mvCandidate{matvecWarp.prefix + ts, 4, 128, true})
		}
		for _, c := range cands {
			launch := func(i int) error {
				return e.k.launch(c.name, nil, c.grid(sh.nOut, 1), c.block(), buf.Ptr+cuda.DevicePtr(int64(i%copies)*mb), rb, dx, sh.nIn, y, sh.nOut, cuda.DevicePtr(0), sh.nIn, sh.nOut, 1)
			}
			if err := launch(0); err != nil {
				t.Fatal(err)
			}
			e.compare(fmt.Sprintf("%s %dx%d", c.name, sh.nOut, sh.nIn), e.read(y, sh.nOut), want, 2e-5)
			ms := e.timeLaunches(n, launch)
			fmt.Printf("GPUBW %-16s %6dx%-4d %s: %8.2f us, %5.0f GB/s of weights\n", c.name, sh.nOut, sh.nIn, ts, ms*1e3, float64(mb)/ms/1e6)
		}
		buf.Free()
	}
}
