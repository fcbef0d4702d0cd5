package ops

import (
	"strings"
	"testing"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/cuda/driver"
)

func fakeKernels(t *testing.T) (*cuda.Fake, *Kernels) {
	t.Helper()
	f := cuda.NewFake()
	d, err := cuda.New(f)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := d.Context(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctx.Close() })
	k, err := Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return f, k
}

// TestEmbeddedPTXHasEveryKernel loads the embedded PTX into the fake driver,
// which resolves names from the PTX's .entry lines: a kernel ops launches
// but the PTX lacks fails here, without a GPU.
func TestEmbeddedPTXHasEveryKernel(t *testing.T) {
	_, k := fakeKernels(t)
	want := 0
	for _, names := range kernelNames() {
		want += len(names)
	}
	if len(k.fns) != want || want < 20 {
		t.Fatalf("%d functions resolved, want %d", len(k.fns), want)
	}
}

// TestLaunchArguments checks grid shapes and argument encoding as the
// driver receives them.
func TestLaunchArguments(t *testing.T) {
	f, k := fakeKernels(t)
	k.GemmMinTokens = 16
	if err := k.MatMul(nil, cputwin.Q4_K, 0x1000, 0x2000, 512, 0x3000, 300, 0, 512, 300, 15); err != nil {
		t.Fatal(err)
	}
	l := f.Launches[len(f.Launches)-1]
	if l.Name != "matmul_q4_k" || l.Grid != (cuda.Dim3{X: 75, Y: 2, Z: 1}) || l.Block.X != 128 {
		t.Fatalf("launch %+v", l)
	}
	if l.Args[1] != 2*144 || l.Args[7] != 512 || l.Args[9] != 15 {
		t.Errorf("args %v", l.Args)
	}
	// Batches at the threshold go to the tensor-core kernels, 64 x 64 tiles:
	// 8 warps per block while the grid has fewer than 2 blocks per
	// multiprocessor (the fake GPU has 108), 4 from there on.
	for _, c := range []struct {
		nOut, nTok int
		name       string
		grid       cuda.Dim3
		threads    uint32
	}{
		{300, 130, "gemm8_q4_k", cuda.Dim3{X: 5, Y: 3, Z: 1}, 256},
		{2880, 256, "gemm8_q4_k", cuda.Dim3{X: 45, Y: 4, Z: 1}, 256},
		{2880, 257, "gemm_q4_k", cuda.Dim3{X: 45, Y: 5, Z: 1}, 128},
		{2880, 512, "gemm_q4_k", cuda.Dim3{X: 45, Y: 8, Z: 1}, 128},
	} {
		if err := k.MatMul(nil, cputwin.Q4_K, 0x1000, 0x2000, 512, 0x3000, c.nOut, 0, 512, c.nOut, c.nTok); err != nil {
			t.Fatal(err)
		}
		l = f.Launches[len(f.Launches)-1]
		if l.Name != c.name || l.Grid != c.grid || l.Block.X != c.threads || l.Args[9] != uint64(c.nTok) {
			t.Errorf("%d x %d tokens: launch %+v, want %s, grid %v, %d threads", c.nOut, c.nTok, l, c.name, c.grid, c.threads)
		}
	}
	// ... unless the weights are not 16-byte aligned, or it is turned off.
	for _, c := range []struct {
		w      cuda.DevicePtr
		minTok int
	}{{0x1004, 16}, {0x1000, 0}} {
		k.GemmMinTokens = c.minTok
		if err := k.MatMul(nil, cputwin.Q4_K, c.w, 0x2000, 512, 0x3000, 300, 0, 512, 300, 130); err != nil {
			t.Fatal(err)
		}
		if l = f.Launches[len(f.Launches)-1]; l.Name != "matmul_q4_k" {
			t.Errorf("weights at %#x, GemmMinTokens %d: launched %s, want matmul_q4_k", c.w, c.minTok, l.Name)
		}
	}
	if err := k.Router(nil, 0x1000, cputwin.RouterParams{NExp: 8, K: 2, Mode: cputwin.SparseMixer, Scale: 1, Eps: 0.01}, 0x2000, 0x3000, 3); err != nil {
		t.Fatal(err)
	}
	l = f.Launches[len(f.Launches)-1]
	if l.Args[3] != 2 || uint32(l.Args[6]) != 0x3c23d70a { // mode 2, eps 0.01f
		t.Errorf("router args %x", l.Args)
	}
}

func TestLaunchRejectsBadShapes(t *testing.T) {
	_, k := fakeKernels(t)
	for name, err := range map[string]error{
		"k-quant row not a block multiple": k.MatMul(nil, cputwin.Q6_K, 1, 1, 100, 1, 1, 0, 100, 4, 1),
		"unsupported type":                 k.MatMul(nil, cputwin.WeightType(2), 1, 1, 64, 1, 1, 0, 64, 4, 1),
		"zero tokens":                      k.MatMul(nil, cputwin.F16, 1, 1, 64, 1, 1, 0, 64, 4, 0),
		"dv too large":                     k.Attention(nil, cputwin.AttentionParams{NTok: 1, NHead: 1, NHeadKV: 1, DK: 64, DV: 1024}, 1, 1, 1, 0, 1),
		"sparsemixer k":                    k.Router(nil, 1, cputwin.RouterParams{NExp: 8, K: 3, Mode: cputwin.SparseMixer}, 1, 1, 1),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestLoadReportsMissingKernel(t *testing.T) {
	f := cuda.NewFake()
	d, _ := cuda.New(f)
	ctx, err := d.Context(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	_, err = LoadFrom(ctx, func(string) ([]byte, error) { return []byte(".entry only_this("), nil })
	if err == nil || !strings.Contains(err.Error(), "CUDA_ERROR_NOT_FOUND") {
		t.Fatalf("err = %v", err)
	}
	f.FailOn["cuModuleLoadData"] = driver.ErrorInvalidPTX
	_, err = LoadFrom(ctx, func(string) ([]byte, error) { return []byte(".entry x("), nil })
	if err == nil || !strings.Contains(err.Error(), "CUDA_ERROR_INVALID_PTX") {
		t.Fatalf("err = %v", err)
	}
}
