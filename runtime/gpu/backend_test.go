package gpu

import (
	"strings"
	"testing"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/ops"
	"github.com/gguftool/gguftool/runtime"
)

func fakeBackend(t *testing.T) (*cuda.Fake, *Backend) {
	t.Helper()
	f := cuda.NewFake()
	ops.Emulate(f)
	d, err := cuda.New(f)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := d.Context(0)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ops.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewWithKernels(runtime.Device{Kind: runtime.CUDA}, ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return f, b
}

// TestHybridOnFakeDriver runs the deepseek-moe fixture with attention,
// router and shared experts on the (fake, CPU-emulated) GPU and the routed
// experts split between GPU and CPU, through the whole backend path:
// uploads, per-expert offsets, staging buffers, launches. Logits and greedy
// tokens must match the CPU-only run.
func TestHybridOnFakeDriver(t *testing.T) {
	f := convertFixture(t, "deepseek-moe", "f32")
	cpu, err := runtime.Load(f, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := evalGreedy(t, cpu, 4)
	fake, b := fakeBackend(t)
	m, err := runtime.Load(f, runtime.Options{Placement: hybrid(4), Backends: []runtime.Backend{b}})
	if err != nil {
		t.Fatal(err)
	}
	got := evalGreedy(t, m, 4)
	t.Log(compareRuns(t, "deepseek-moe f32 hybrid (fake GPU)", got, want, m.NVocab, 1e-4))
	launched := map[string]int{}
	for _, l := range fake.Launches {
		launched[l.Name]++
	}
	if launched["matmul_f32"] == 0 {
		t.Fatalf("no matmul ran on the fake GPU: %v", launched)
	}
	if b.WeightBytes() == 0 || b.WeightBytes() >= uint64(f.Size()) {
		t.Errorf("uploaded %d bytes of a %d-byte file", b.WeightBytes(), f.Size())
	}
}

func TestUploadRejectsUnsupportedType(t *testing.T) {
	f := convertFixture(t, "deepseek-moe", "f32")
	_, b := fakeBackend(t)
	m, err := runtime.Load(f, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tn, _ := m.Tensor("blk.0.attn_q.weight")
	bad := *tn
	info := *tn.Info
	info.Type = 2 // Q4_0: no CUDA kernel
	bad.Info = &info
	if err := b.Upload(&bad); err == nil || !strings.Contains(err.Error(), "blk.0.attn_q.weight") {
		t.Fatalf("err = %v", err)
	}
	if err := b.MatMul(make([]float32, 4), tn, 0, 1, make([]float32, tn.Cols()), 1); err == nil || !strings.Contains(err.Error(), "not uploaded") {
		t.Fatalf("err = %v", err)
	}
}
