package ops

import (
	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/cuda/kernels"
)

// The decode-sized products of matvec.cu: same functions as matmul_T and
// matmul_id_T, a block of mvThreads threads per group of rows, its lanes on
// consecutive 8-weight octets so that loads coalesce. Used for batches of
// up to mvTokens tokens (and for every MatMulID pair) of the types below,
// when the weights and activations are aligned as the octet loads need.

const (
	mvThreads = 128 // MV_THREADS: a block's threads, which share its rows
	mvIDRows  = 4   // MV_ID_ROWS: outputs per block of matvec_id_
	mvTokens  = 4   // MV_TOKENS
)

// matvecEntry is one matvec.cu entry point per type (prefix + type name)
// and the outputs a block of it computes.
type matvecEntry struct {
	prefix string
	rows   int
}

// matvecEntries are the row shapes of matvec.cu: MV_ROWS rows a block,
// one, and two with the first token's activations read beside the weights.
var matvecEntries = []matvecEntry{{"matvec_", 4}, {"matvec1_", 1}, {"matvec2_", 2}}

// matvecWarp is the first version's entry (matvec_warp_: 4 warps of 4 rows
// each), kept for the types in matvecWarpTypes from mvWarpRowsMin rows on.
var matvecWarp = matvecEntry{"matvec_warp_", 16}

var matvecWarpTypes = map[WeightType]bool{cputwin.Q8_0: true, cputwin.MXFP4: true}

// matvecAlign is the byte alignment each type's octet loads need of a
// matrix's start and row (and expert) stride.
var matvecAlign = map[WeightType]int64{
	cputwin.F32: 16, cputwin.F16: 16, cputwin.BF16: 16, cputwin.Q8_0: 2, cputwin.MXFP4: 1,
}

func matvecNames() []string {
	var out []string
	for _, t := range cputwin.WeightTypes {
		if _, ok := matvecAlign[t]; ok {
			for _, e := range matvecEntries {
				out = append(out, e.prefix+t.String())
			}
			out = append(out, "matvec_id_"+t.String())
			if matvecWarpTypes[t] {
				out = append(out, matvecWarp.prefix+t.String())
			}
		}
	}
	return out
}

func init() { extraKernelNames[kernels.Matvec] = matvecNames }

// The row shape per type and output count, as measured on an H100 with
// gpt-oss-20b's decode shapes (cuda/ops TestMatVecDecodeShapesGPU, GB/s of
// weights): F16 from 4,096 rows 4 rows a block (q 4096x2880 1,817, output
// head 201088x2880 3,142), below 2 (o 2880x4096 2,100 against 1,770 and
// 1,811; k/v 512x2880 ~500 for all three); Q8_0 below 4,096 rows 1 (2880x4096
// 1,014 against 956 and 882), MXFP4 4 (experts: 995 against 713 with 2);
// Q8_0 and MXFP4 from 8,192 rows the first version (see matvec.cu).
const (
	mvFullRowsMin = 4096 // outputs from which F16, BF16, F32 and Q8_0 take matvec_
	mvWarpRowsMin = 8192 // outputs from which matvecWarpTypes take matvec_warp_
)

// matvecEntryFor picks the entry point for nOut outputs of type t.
func matvecEntryFor(t WeightType, nOut int) matvecEntry {
	switch {
	case matvecWarpTypes[t] && nOut >= mvWarpRowsMin:
		return matvecWarp
	case t == cputwin.MXFP4 || nOut >= mvFullRowsMin:
		return matvecEntries[0]
	case t == cputwin.Q8_0:
		return matvecEntries[1]
	}
	return matvecEntries[2]
}

// matvecKernel names the matvec entry point for nOut outputs of type t and
// gives its grid (for nTok tokens) and block.
func matvecKernel(t WeightType, nOut, nTok int) (string, cuda.Dim3, cuda.Dim3) {
	e := matvecEntryFor(t, nOut)
	return e.prefix + t.String(), e.grid(nOut, nTok), cuda.Dim3{X: mvThreads, Y: 1, Z: 1}
}

func (e matvecEntry) grid(nOut, nTok int) cuda.Dim3 {
	return cuda.Dim3{X: ceilDiv(nOut, e.rows), Y: ceilDiv(nTok, mvTokens), Z: 1}
}

// matvecIDKernel is matvecKernel for matvec_id_ over nPairs pairs.
func matvecIDKernel(t WeightType, nOut, nPairs int) (string, cuda.Dim3, cuda.Dim3) {
	return "matvec_id_" + t.String(), cuda.Dim3{X: ceilDiv(nOut, mvIDRows), Y: uint32(nPairs), Z: 1}, cuda.Dim3{X: mvThreads, Y: 1, Z: 1}
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
			for _, e := range matvecEntries {
				f.Kernels[e.prefix+t.String()] = emulateMatMul(t)
			}
			f.Kernels["matvec_id_"+t.String()] = emulateMatMulID(t)
			if matvecWarpTypes[t] {
				f.Kernels[matvecWarp.prefix+t.String()] = emulateMatMul(t)
			}
		}
	}
}
