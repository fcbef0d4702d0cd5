package ops

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
)

// Emulate registers CPU-twin emulations of the matrix, rope and attention
// kernels on a fake driver, so code above ops (the runtime's GPU backend)
// can be tested end to end on machines without a GPU.
func Emulate(f *cuda.Fake) {
	for _, t := range cputwin.WeightTypes {
		f.Kernels["matmul_"+t.String()] = emulateMatMul(t)
		// gemm_<type> (the tensor-core kernel for batches) takes matmul's
		// arguments and computes the same function.
		f.Kernels["gemm_"+t.String()] = emulateMatMul(t)
		f.Kernels["gemm8_"+t.String()] = emulateMatMul(t)
		f.Kernels["gemm_grouped_"+t.String()] = emulateMatMulGrouped(t)
	}
	for _, t := range cputwin.WeightTypes {
		f.Kernels["matmul_id_"+t.String()] = emulateMatMulID(t)
		f.Kernels["get_rows_"+t.String()] = emulateGetRows(t)
	}
	emulateMatVec(f)
	emulateAttentionTiled(f)
	f.Kernels["rope_f32"] = emulateRope
	f.Kernels["attention_f16"] = emulateAttention
	f.Kernels["kv_store_f16"] = emulateKVStore
	f.Kernels["rms_norm_f32"] = emulateRMSNorm
	f.Kernels["layer_norm_f32"] = emulateLayerNorm
	f.Kernels["add_f32"] = emulateAdd
	f.Kernels["router_f32"] = emulateRouter
	f.Kernels["swiglu_f32"] = emulateGLU
	f.Kernels["moe_sum_f32"] = emulateMoESum
	f.Kernels["scale_f32"] = emulateScale
	// Every kernel gguftool launches is emulated: a launch of one that is
	// not is an error, not a silent no-op.
	f.Strict = true
}

func emulateScale(f *cuda.Fake, l cuda.Launch) error {
	a := l.Args
	n, s := i32(a[2]), math.Float32frombits(uint32(a[3]))
	x, err := fakeFloats(f, cuda.DevicePtr(a[0]), n)
	if err != nil {
		return err
	}
	return putFloats(f, cuda.DevicePtr(a[1]), cputwin.Scale(x, s))
}

func emulateMatMulID(t cputwin.WeightType) cuda.FakeKernel {
	return func(f *cuda.Fake, l cuda.Launch) error {
		a := l.Args
		w, rb, eb := cuda.DevicePtr(a[0]), int64(a[1]), int64(a[2])
		x, xs, xDiv, y, ys, bias, bs := cuda.DevicePtr(a[4]), i32(a[5]), i32(a[6]), cuda.DevicePtr(a[7]), i32(a[8]), cuda.DevicePtr(a[9]), i32(a[10])
		nIn, nOut, nPairs := i32(a[11]), i32(a[12]), i32(a[13])
		ids, err := fakeInt32s(f, cuda.DevicePtr(a[3]), nPairs)
		if err != nil {
			return err
		}
		for p, e := range ids {
			wb, err := f.Bytes(w+cuda.DevicePtr(int64(e)*eb), uint64(rb)*uint64(nOut))
			if err != nil {
				return err
			}
			xr, err := fakeFloats(f, x+cuda.DevicePtr(4*(p/xDiv)*xs), nIn)
			if err != nil {
				return err
			}
			var bv []float32
			if bias != 0 {
				if bv, err = fakeFloats(f, bias+cuda.DevicePtr(4*int(e)*bs), nOut); err != nil {
					return err
				}
			}
			yr, err := cputwin.MatMul(t, wb, xr, bv, nIn, nOut)
			if err != nil {
				return err
			}
			if err := putFloats(f, y+cuda.DevicePtr(4*p*ys), yr); err != nil {
				return err
			}
		}
		return nil
	}
}

func emulateRMSNorm(f *cuda.Fake, l cuda.Launch) error {
	a := l.Args
	x, xs, y, ys, w, n := cuda.DevicePtr(a[0]), i32(a[1]), cuda.DevicePtr(a[2]), i32(a[3]), cuda.DevicePtr(a[4]), i32(a[5])
	eps := math.Float32frombits(uint32(a[6]))
	var wv []float32
	var err error
	if w != 0 {
		if wv, err = fakeFloats(f, w, n); err != nil {
			return err
		}
	}
	for r := 0; r < int(l.Grid.X); r++ {
		xr, err := fakeFloats(f, x+cuda.DevicePtr(4*r*xs), n)
		if err != nil {
			return err
		}
		if err := putFloats(f, y+cuda.DevicePtr(4*r*ys), cputwin.RMSNorm(xr, wv, n, eps)); err != nil {
			return err
		}
	}
	return nil
}

func emulateAdd(f *cuda.Fake, l cuda.Launch) error {
	a := l.Args
	n, nb := i32(a[3]), i32(a[4])
	x, err := fakeFloats(f, cuda.DevicePtr(a[0]), n)
	if err != nil {
		return err
	}
	b, err := fakeFloats(f, cuda.DevicePtr(a[1]), nb)
	if err != nil {
		return err
	}
	return putFloats(f, cuda.DevicePtr(a[2]), cputwin.Add(x, b))
}

func emulateRouter(f *cuda.Fake, l cuda.Launch) error {
	a := l.Args
	p := cputwin.RouterParams{NExp: i32(a[1]), K: i32(a[2]), Mode: cputwin.RouterMode(i32(a[3])), Norm: a[4] != 0,
		Scale: math.Float32frombits(uint32(a[5])), Eps: math.Float32frombits(uint32(a[6]))}
	nTok := i32(a[9])
	z, err := fakeFloats(f, cuda.DevicePtr(a[0]), nTok*p.NExp)
	if err != nil {
		return err
	}
	ids, w := cputwin.Router(z, p)
	idf := make([]float32, len(ids))
	for i, id := range ids {
		idf[i] = math.Float32frombits(uint32(id))
	}
	if err := putFloats(f, cuda.DevicePtr(a[7]), idf); err != nil {
		return err
	}
	return putFloats(f, cuda.DevicePtr(a[8]), w)
}

func emulateGLU(f *cuda.Fake, l cuda.Launch) error {
	a := l.Args
	g, gs, u, us, y, ys := cuda.DevicePtr(a[0]), i32(a[1]), cuda.DevicePtr(a[2]), i32(a[3]), cuda.DevicePtr(a[4]), i32(a[5])
	n, rows, mode := i32(a[6]), i32(a[7]), cputwin.GLUMode(i32(a[8]))
	alpha, limit := math.Float32frombits(uint32(a[9])), math.Float32frombits(uint32(a[10]))
	for r := 0; r < rows; r++ {
		gv, err := fakeFloats(f, g+cuda.DevicePtr(4*r*gs), n)
		if err != nil {
			return err
		}
		uv, err := fakeFloats(f, u+cuda.DevicePtr(4*r*us), n)
		if err != nil {
			return err
		}
		if err := putFloats(f, y+cuda.DevicePtr(4*r*ys), cputwin.GLU(gv, uv, mode, alpha, limit)); err != nil {
			return err
		}
	}
	return nil
}

func emulateMoESum(f *cuda.Fake, l cuda.Launch) error {
	a := l.Args
	n, k, nTok, acc := i32(a[3]), i32(a[4]), i32(a[5]), a[6] != 0
	ys, err := fakeFloats(f, cuda.DevicePtr(a[0]), nTok*k*n)
	if err != nil {
		return err
	}
	w, err := fakeFloats(f, cuda.DevicePtr(a[1]), nTok*k)
	if err != nil {
		return err
	}
	var base []float32
	if acc {
		if base, err = fakeFloats(f, cuda.DevicePtr(a[2]), nTok*n); err != nil {
			return err
		}
	}
	return putFloats(f, cuda.DevicePtr(a[2]), cputwin.MoESum(ys, w, base, n, k))
}

func putFloats(f *cuda.Fake, p cuda.DevicePtr, x []float32) error {
	b, err := f.Bytes(p, uint64(4*len(x)))
	if err != nil {
		return err
	}
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return nil
}

func fakeInt32s(f *cuda.Fake, p cuda.DevicePtr, n int) ([]int32, error) {
	x, err := fakeFloats(f, p, n)
	if err != nil {
		return nil, err
	}
	out := make([]int32, n)
	for i, v := range x {
		out[i] = int32(math.Float32bits(v))
	}
	return out, nil
}

func i32(v uint64) int { return int(int32(uint32(v))) }

func emulateRope(f *cuda.Fake, l cuda.Launch) error {
	a := l.Args
	x := cuda.DevicePtr(a[0])
	p := cputwin.RopeParams{TokStride: i32(a[1]), HeadStride: i32(a[2]), NHead: i32(a[3]), NTok: i32(a[4]),
		RotOff: i32(a[5]), NRot: i32(a[6]), MScale: math.Float32frombits(uint32(a[9])), NeoX: a[10] != 0}
	n := (p.NTok-1)*p.TokStride + (p.NHead-1)*p.HeadStride + p.RotOff + p.NRot
	xs, err := fakeFloats(f, x, n)
	if err != nil {
		return err
	}
	pos, err := fakeInt32s(f, cuda.DevicePtr(a[7]), p.NTok)
	if err != nil {
		return err
	}
	freq, err := fakeFloats(f, cuda.DevicePtr(a[8]), p.NRot/2)
	if err != nil {
		return err
	}
	cputwin.Rope(xs, p, pos, freq)
	return putFloats(f, x, xs)
}

func emulateAttention(f *cuda.Fake, l cuda.Launch) error {
	a := l.Args
	p := cputwin.AttentionParams{
		QTokStride: i32(a[1]), QHeadStride: i32(a[2]), KPosStride: i32(a[4]), KHeadStride: i32(a[5]),
		VPosStride: i32(a[7]), VHeadStride: i32(a[8]), OTokStride: i32(a[10]), OHeadStride: i32(a[11]),
		NTok: i32(a[13]), NHead: i32(a[14]), NHeadKV: i32(a[15]), DK: i32(a[16]), DV: i32(a[17]),
		Pos0: i32(a[18]), Window: i32(a[19]), Cells: i32(a[20]), Scale: math.Float32frombits(uint32(a[21])),
	}
	// Rows the queries read: the whole ring, or the positions so far.
	rows := min(p.Cells, p.Pos0+p.NTok)
	q, err := fakeFloats(f, cuda.DevicePtr(a[0]), (p.NTok-1)*p.QTokStride+(p.NHead-1)*p.QHeadStride+p.DK)
	if err != nil {
		return err
	}
	k, err := fakeHalves(f, cuda.DevicePtr(a[3]), (rows-1)*p.KPosStride+(p.NHeadKV-1)*p.KHeadStride+p.DK)
	if err != nil {
		return err
	}
	v, err := fakeHalves(f, cuda.DevicePtr(a[6]), (rows-1)*p.VPosStride+(p.NHeadKV-1)*p.VHeadStride+p.DV)
	if err != nil {
		return err
	}
	var sinks []float32
	if a[12] != 0 {
		if sinks, err = fakeFloats(f, cuda.DevicePtr(a[12]), p.NHead); err != nil {
			return err
		}
	}
	o := cputwin.Attention(p, q, k, v, sinks)
	out := cuda.DevicePtr(a[9])
	for t := 0; t < p.NTok; t++ {
		for h := 0; h < p.NHead; h++ {
			off := t*p.OTokStride + h*p.OHeadStride
			if err := putFloats(f, out+cuda.DevicePtr(4*off), o[off:off+p.DV]); err != nil {
				return err
			}
		}
	}
	return nil
}

func emulateKVStore(f *cuda.Fake, l cuda.Launch) error {
	a := l.Args
	src, ss, dst, ds := cuda.DevicePtr(a[0]), i32(a[1]), cuda.DevicePtr(a[2]), i32(a[3])
	width, nTok, pos0, cells := i32(a[4]), i32(a[5]), i32(a[6]), i32(a[7])
	x, err := fakeFloats(f, src, (nTok-1)*ss+width)
	if err != nil {
		return err
	}
	row := make([]uint16, width)
	for t := 0; t < nTok; t++ {
		cputwin.KVStore(x[t*ss:], ss, row, width, width, 1, 0, 1)
		b, err := f.Bytes(dst+cuda.DevicePtr(2*((pos0+t)%cells)*ds), uint64(2*width))
		if err != nil {
			return err
		}
		for i, h := range row {
			binary.LittleEndian.PutUint16(b[2*i:], h)
		}
	}
	return nil
}

// fakeHalves reads n halves at p as float32.
func fakeHalves(f *cuda.Fake, p cuda.DevicePtr, n int) ([]float32, error) {
	b, err := f.Bytes(p, uint64(2*n))
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = cputwin.HalfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return out, nil
}

func fakeFloats(f *cuda.Fake, p cuda.DevicePtr, n int) ([]float32, error) {
	b, err := f.Bytes(p, uint64(4*n))
	if err != nil {
		return nil, err
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x, nil
}

func emulateMatMul(t cputwin.WeightType) cuda.FakeKernel {
	return func(f *cuda.Fake, l cuda.Launch) error {
		a := l.Args
		if len(a) != 10 {
			return fmt.Errorf("matmul takes 10 arguments, got %d", len(a))
		}
		w, rb, x, xs, y, ys, bias := cuda.DevicePtr(a[0]), int64(a[1]), cuda.DevicePtr(a[2]), int(int32(a[3])), cuda.DevicePtr(a[4]), int(int32(a[5])), cuda.DevicePtr(a[6])
		nIn, nOut, nTok := int(int32(a[7])), int(int32(a[8])), int(int32(a[9]))
		wb, err := f.Bytes(w, uint64(rb)*uint64(nOut))
		if err != nil {
			return err
		}
		var bv []float32
		if bias != 0 {
			if bv, err = fakeFloats(f, bias, nOut); err != nil {
				return err
			}
		}
		for tk := 0; tk < nTok; tk++ {
			xr, err := fakeFloats(f, x+cuda.DevicePtr(4*tk*xs), nIn)
			if err != nil {
				return err
			}
			yr, err := cputwin.MatMul(t, wb, xr, bv, nIn, nOut)
			if err != nil {
				return err
			}
			out, err := f.Bytes(y+cuda.DevicePtr(4*tk*ys), uint64(4*nOut))
			if err != nil {
				return err
			}
			for i, v := range yr {
				binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
			}
		}
		return nil
	}
}

func emulateGetRows(t cputwin.WeightType) cuda.FakeKernel {
	return func(f *cuda.Fake, l cuda.Launch) error {
		a := l.Args
		table, rb, out, nCols, nRows := cuda.DevicePtr(a[0]), int64(a[1]), cuda.DevicePtr(a[3]), i32(a[4]), i32(a[5])
		ids, err := fakeInt32s(f, cuda.DevicePtr(a[2]), nRows)
		if err != nil {
			return err
		}
		for r, id := range ids {
			row, err := f.Bytes(table+cuda.DevicePtr(int64(id)*rb), uint64(rb))
			if err != nil {
				return err
			}
			v := make([]float32, nCols)
			if err := cputwin.Dequant(t, row, v); err != nil {
				return err
			}
			if err := putFloats(f, out+cuda.DevicePtr(4*r*nCols), v); err != nil {
				return err
			}
		}
		return nil
	}
}
