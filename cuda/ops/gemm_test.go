package ops

import (
	"math/rand/v2"
	"testing"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
)

// TestEmulatedMatMulGrouped runs gemm_grouped on the fake driver (strided
// rows, biases, a matrix used twice) and checks it against the twin, and
// that rows outside every group are left alone.
func TestEmulatedMatMulGrouped(t *testing.T) {
	_, k, ctx := emulatedKernels(t)
	rng := rand.New(rand.NewPCG(1, 2))
	const nIn, nOut, nMat, nRows, xs, ys = 64, 5, 3, 9, 67, 6
	w := make([]float32, nMat*nOut*nIn)
	for i := range w {
		w[i] = rng.Float32() - 0.5
	}
	wb := cuda.Float32Bytes(w)
	mb := int64(4 * nOut * nIn)
	groups := []int32{2, 0, 3, 0, 3, 1, 2, 5, 4} // row 4 is in no group
	x := make([]float32, nRows*nIn)
	for i := range x {
		x[i] = rng.Float32() - 0.5
	}
	bias := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	want, err := cputwin.MatMulGrouped(cputwin.F32, wb, mb, groups, x, bias, nIn, nOut, nRows)
	if err != nil {
		t.Fatal(err)
	}
	up := func(b []byte) cuda.DevicePtr {
		buf, err := ctx.Alloc(uint64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if err := buf.Upload(0, b); err != nil {
			t.Fatal(err)
		}
		return buf.Ptr
	}
	xb := make([]float32, nRows*xs)
	for r := 0; r < nRows; r++ {
		copy(xb[r*xs:], x[r*nIn:(r+1)*nIn])
	}
	const poison = -7
	yb := make([]float32, nRows*ys)
	for i := range yb {
		yb[i] = poison
	}
	ybuf, err := ctx.Alloc(uint64(4 * len(yb)))
	if err != nil {
		t.Fatal(err)
	}
	if err := ybuf.UploadFloat32(yb); err != nil {
		t.Fatal(err)
	}
	dy := ybuf.Ptr
	if err := k.MatMulGrouped(nil, cputwin.F32, up(wb), mb, up(cuda.Int32Bytes(groups)), 3, 4, up(cuda.Float32Bytes(xb)), xs, dy, ys, up(cuda.Float32Bytes(bias)), nOut, nIn, nOut); err != nil {
		t.Fatal(err)
	}
	if err := ybuf.DownloadFloat32(yb); err != nil {
		t.Fatal(err)
	}
	for r := 0; r < nRows; r++ {
		for o := 0; o < ys; o++ {
			got := yb[r*ys+o]
			switch {
			case o == nOut || r == 4:
				if got != poison {
					t.Errorf("row %d col %d written (%v) outside every group", r, o, got)
				}
			case got != want[r*nOut+o]:
				t.Errorf("row %d col %d = %v, want %v", r, o, got, want[r*nOut+o])
			}
		}
	}
}

// TestMatMulGroupedRejectsBadLayout: weights the tensor-core kernel cannot
// decode are an error, not a wrong result.
func TestMatMulGroupedRejectsBadLayout(t *testing.T) {
	_, k := fakeKernels(t)
	for name, err := range map[string]error{
		"n_in not whole units": k.MatMulGrouped(nil, cputwin.F16, 0x1000, 4800, 0x2000, 2, 64, 0x3000, 48, 0x4000, 48, 0, 0, 48, 50),
		"misaligned weights":   k.MatMulGrouped(nil, cputwin.F16, 0x1008, 6400, 0x2000, 2, 64, 0x3000, 64, 0x4000, 64, 0, 0, 64, 50),
		"misaligned matrices":  k.MatMulGrouped(nil, cputwin.Q8_0, 0x1000, 34*2*5, 0x2000, 2, 64, 0x3000, 64, 0x4000, 64, 0, 0, 64, 5),
		"no groups":            k.MatMulGrouped(nil, cputwin.F16, 0x1000, 6400, 0x2000, 0, 64, 0x3000, 64, 0x4000, 64, 0, 0, 64, 50),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestGemmBlockThreads: the launchers take each gemm kernel's block size
// from its launch bounds in the PTX, and refuse PTX that states none.
func TestGemmBlockThreads(t *testing.T) {
	_, k := fakeKernels(t)
	if k.gemm.threads != 128 || k.gemm.threads8 != 256 || k.gemm.sms != 108 {
		t.Errorf("embedded gemm PTX on the fake GPU: %+v, want 128 and 256 threads, 108 multiprocessors", k.gemm)
	}
	ptx := ".visible .entry gemm_f32(\n.param .u64 a\n)\n.maxntid 128, 1, 1\n{\nret;\n}\n" +
		".visible .entry gemm8_f32(\n.param .u64 a\n)\n.maxntid 256, 1, 1\n{\nret;\n}\n" +
		".visible .entry other(\n)\n{\n}\n"
	for entry, want := range map[string]uint32{"gemm_f32": 128, "gemm8_f32": 256, "other": 0, "missing": 0} {
		got, err := entryThreads([]byte(ptx), entry)
		if got != want || (err == nil) != (want != 0) {
			t.Errorf("%s: %d, %v; want %d", entry, got, err, want)
		}
	}
}
