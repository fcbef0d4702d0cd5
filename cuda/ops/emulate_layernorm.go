package ops

import (
	"math"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
)

// emulateLayerNorm runs layer_norm_f32 (x, xStride, y, yStride, w, b, n,
// eps; one row per block) through its CPU twin; w and b may be 0.
func emulateLayerNorm(f *cuda.Fake, l cuda.Launch) error {
	a := l.Args
	x, xs, y, ys, w, b, n := cuda.DevicePtr(a[0]), i32(a[1]), cuda.DevicePtr(a[2]), i32(a[3]), cuda.DevicePtr(a[4]), cuda.DevicePtr(a[5]), i32(a[6])
	eps := math.Float32frombits(uint32(a[7]))
	var wv, bv []float32
	var err error
	if w != 0 {
		if wv, err = fakeFloats(f, w, n); err != nil {
			return err
		}
	}
	if b != 0 {
		if bv, err = fakeFloats(f, b, n); err != nil {
			return err
		}
	}
	for r := 0; r < int(l.Grid.X); r++ {
		xr, err := fakeFloats(f, x+cuda.DevicePtr(4*r*xs), n)
		if err != nil {
			return err
		}
		if err := putFloats(f, y+cuda.DevicePtr(4*r*ys), cputwin.LayerNorm(xr, wv, bv, n, eps)); err != nil {
			return err
		}
	}
	return nil
}
