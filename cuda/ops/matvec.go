package ops

import (
	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/cuda/kernels"
)

// The decode-sized products of matvec.cu: same functions as matmul_T and
// matmul_id_T, with the lanes of a warp on consecutive 8-weight octets so
// that loads coalesce. Used for batches of up to mvTokens tokens (and for
// every MatMulID pair) of the types below, when the weights and
// activations are aligned as the octet loads need.

const (
	mvWarps  = 4 // MV_WARPS
	mvRows   = 4 // MV_ROWS: outputs per warp
	mvTokens = 4 // MV_TOKENS
)

// matvecAlign is the byte alignment each type's octet loads need of a
// matrix's start and row (and expert) stride.
var matvecAlign = map[WeightType]int64{
	cputwin.F32: 16, cputwin.F16: 16, cputwin.BF16: 16, cputwin.Q8_0: 2, cputwin.MXFP4: 1,
}

func matvecNames() []string {
	var out []string
	for _, t := range cputwin.WeightTypes {
		if _, ok := matvecAlign[t]; ok {
			out = append(out, "matvec_"+t.String(), "matvec1_"+t.String(), "matvec_id_"+t.String())
		}
	}
	return out
}

func init() { extraKernelNames[kernels.Matvec] = matvecNames }

// mvFullRowsMin is the smallest output count that gets MV_ROWS rows per
// warp: below it the grid (nOut / 16 blocks) would leave multiprocessors
// idle — gpt-oss's 512-row k/v projections made 32 blocks — and matvec1_,
// one row per warp, runs instead.
const mvFullRowsMin = 4096

// matvecKernel names the matvec entry point for nOut outputs of type t.
func matvecKernel(t WeightType, nOut int) (string, int) {
	if nOut < mvFullRowsMin {
		return "matvec1_" + t.String(), 1
	}
	return "matvec_" + t.String(), mvRows
}

// matvecFits reports whether matvec.cu can run a product of type t with
// weights at w (rows, and experts, strides apart) and activations at x.
func matvecFits(t WeightType, w cuda.DevicePtr, strides []int64, nIn int, x cuda.DevicePtr, xStride int) bool {
	a, ok := matvecAlign[t]
	if !ok || nIn%32 != 0 || int64(w)%a != 0 || x%16 != 0 || xStride%4 != 0 {
		return false
	}
	for _, s := range strides {
		if s%a != 0 {
			return false
		}
	}
	return true
}

// EmulateMatVec registers the fake driver's twins of matvec.cu's kernels
// (the same functions as matmul_T and matmul_id_T).
func emulateMatVec(f *cuda.Fake) {
	for _, t := range cputwin.WeightTypes {
		if _, ok := matvecAlign[t]; ok {
			f.Kernels["matvec_"+t.String()] = emulateMatMul(t)
			f.Kernels["matvec1_"+t.String()] = emulateMatMul(t)
			f.Kernels["matvec_id_"+t.String()] = emulateMatMulID(t)
		}
	}
}
