package ops

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
)

// Emulate registers CPU-twin emulations of the matrix kernels (matmul_T)
// on a fake driver, so code above ops (the runtime's GPU backend) can be
// tested end to end on machines without a GPU.
func Emulate(f *cuda.Fake) {
	for _, t := range cputwin.WeightTypes {
		f.Kernels["matmul_"+t.String()] = emulateMatMul(t)
	}
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
