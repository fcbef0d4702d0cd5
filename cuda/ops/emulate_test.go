package ops

import (
	"strings"
	"testing"

	"github.com/gguftool/gguftool/cuda"
)

// emulatedKernels loads the kernels on a fake driver that runs their CPU twins.
func emulatedKernels(t *testing.T) (*cuda.Fake, *Kernels, *cuda.Context) {
	t.Helper()
	f, k := fakeKernels(t)
	Emulate(f)
	return f, k, k.ctx
}

// TestEmulatedScale runs scale_f32 on the fake driver through its CPU twin.
func TestEmulatedScale(t *testing.T) {
	_, k, ctx := emulatedKernels(t)
	in := []float32{1, -2, 0.5, 3}
	a, _ := ctx.Alloc(16)
	y, _ := ctx.Alloc(16)
	a.UploadFloat32(in)
	s, err := ctx.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Scale(s, a.Ptr, y.Ptr, len(in), 2.5); err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(in))
	y.DownloadFloat32(out)
	for i := range in {
		if out[i] != in[i]*2.5 {
			t.Fatalf("y[%d] = %v, want %v", i, out[i], in[i]*2.5)
		}
	}
}

// TestStrictFakeRefusesUnemulatedKernels: with Emulate, a kernel without
// an emulation fails its launch instead of silently doing nothing.
func TestStrictFakeRefusesUnemulatedKernels(t *testing.T) {
	f, k, ctx := emulatedKernels(t)
	delete(f.Kernels, "scale_f32")
	a, _ := ctx.Alloc(16)
	s, _ := ctx.NewStream()
	err := k.Scale(s, a.Ptr, a.Ptr, 4, 2)
	if err == nil || !strings.Contains(err.Error(), "no emulation") {
		t.Fatalf("launch of an unemulated kernel: %v", err)
	}
}
