package cuda

import (
	"errors"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/cuda/driver"
)

func fakeCtx(t *testing.T) (*Fake, *Context) {
	t.Helper()
	f := NewFake()
	d, err := New(f)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Context(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return f, c
}

func TestFakeDevices(t *testing.T) {
	f := NewFake(FakeDevice{Name: "A", TotalMem: 8 << 30, Major: 8, Minor: 6, SMs: 84}, FakeDevice{Name: "B", TotalMem: 80 << 30, Major: 9, Minor: 0, SMs: 132})
	d, err := New(f)
	if err != nil {
		t.Fatal(err)
	}
	devs, err := d.Devices()
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 2 || devs[1].Name != "B" || devs[1].ComputeCapability() != "9.0" || devs[0].TotalMemory != 8<<30 || devs[1].Multiprocessors != 132 {
		t.Fatalf("devices %+v", devs)
	}
	if v, _ := d.Version(); v != "13.0" {
		t.Errorf("version %q", v)
	}
	if _, err := d.Context(2); err == nil {
		t.Error("context on a missing device")
	}
}

func TestNoDevice(t *testing.T) {
	f := NewFake()
	f.Devices = nil
	_, err := New(f)
	if !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), "CUDA_ERROR_NO_DEVICE") {
		t.Fatalf("err = %v", err)
	}
}

func TestMemoryRoundTrip(t *testing.T) {
	f, c := fakeCtx(t)
	free0, total, err := c.MemInfo()
	if err != nil {
		t.Fatal(err)
	}
	if total-free0 != 500<<20 {
		t.Errorf("context reserve %d", total-free0)
	}
	b, err := c.Alloc(1000)
	if err != nil {
		t.Fatal(err)
	}
	if free1, _, _ := c.MemInfo(); free0-free1 != 1024 {
		t.Errorf("1000-byte allocation took %d bytes, want 1024 (256-byte granularity)", free0-free1)
	}
	src := []float32{1, 2, 3, -4.5}
	if err := b.UploadFloat32(src); err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, 4)
	if err := b.DownloadFloat32(dst); err != nil {
		t.Fatal(err)
	}
	if dst[3] != -4.5 || dst[0] != 1 {
		t.Errorf("round trip %v", dst)
	}
	if err := b.Upload(998, []byte{1, 2, 3}); err == nil || !strings.Contains(err.Error(), "overruns") {
		t.Errorf("overrun upload: %v", err)
	}
	if err := b.Free(); err != nil || f.LiveAllocations() != 0 {
		t.Errorf("free: %v, live %d", err, f.LiveAllocations())
	}
	if err := b.Free(); err != nil {
		t.Errorf("double free: %v", err)
	}
}

func TestOutOfMemoryNamed(t *testing.T) {
	_, c := fakeCtx(t)
	_, err := c.Alloc(17 << 30)
	if !IsOutOfMemory(err) {
		t.Fatalf("err = %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (out of memory)") || !strings.Contains(msg, "18253611008 bytes") {
		t.Errorf("message %q", msg)
	}
}

func TestStreamsEventsPinned(t *testing.T) {
	_, c := fakeCtx(t)
	s, err := c.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	h, err := c.AllocHost(64)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Free()
	for i := range h.Float32s() {
		h.Float32s()[i] = float32(i)
	}
	b, _ := c.Alloc(64)
	defer b.Free()
	if err := s.UploadAsync(b.Ptr, h.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := s.Fill32(b.At(4), 0x7fc00000, 1); err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 64)
	if err := s.DownloadAsync(out, b.Ptr); err != nil {
		t.Fatal(err)
	}
	e0, _ := c.NewEvent(true)
	e1, _ := c.NewEvent(true)
	if err := e0.Record(s); err != nil {
		t.Fatal(err)
	}
	e1.Record(s)
	if err := s.Synchronize(); err != nil {
		t.Fatal(err)
	}
	if _, err := Elapsed(e0, e1); err != nil {
		t.Fatal(err)
	}
	if out[8] != 0 || out[9] != 0 || out[10] != 0 || out[11] != 0x40 || out[7] != 0x7f { // 2.0f; NaN at word 1
		t.Errorf("bytes %v", out[:12])
	}
}

func TestLaunchEncodesArguments(t *testing.T) {
	f, c := fakeCtx(t)
	m, err := c.LoadModule([]byte(".visible .entry k1(\n.param .u64 a\n)\n.entry k2 ("))
	if err != nil {
		t.Fatal(err)
	}
	fn, err := m.Function("k2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Function("k3"); err == nil || !strings.Contains(err.Error(), "k3") {
		t.Errorf("missing function: %v", err)
	}
	b, _ := c.Alloc(16)
	if err := fn.Launch(nil, Dim3{2, 1, 1}, Dim3{32, 1, 1}, 0, b, DevicePtr(7), int32(-1), 5, float32(1.5), uint64(1<<40)); err != nil {
		t.Fatal(err)
	}
	l := f.Launches[0]
	want := []uint64{uint64(b.Ptr), 7, 0xffffffff, 5, 0x3fc00000, 1 << 40}
	for i, w := range want {
		if l.Args[i] != w {
			t.Errorf("arg %d = %#x, want %#x", i, l.Args[i], w)
		}
	}
	if err := fn.Launch(nil, Dim3{1, 1, 1}, Dim3{32, 1, 1}, 0, "str"); err == nil {
		t.Error("string argument accepted")
	}
	if err := fn.Launch(nil, Dim3{1, 1, 1}, Dim3{32, 1, 1}, 0, 1<<40); err == nil {
		t.Error("int overflow accepted")
	}
	if err := fn.Launch(nil, Dim3{1, 1, 1}, Dim3{2048, 1, 1}, 0); err == nil || !strings.Contains(err.Error(), "CUDA_ERROR_INVALID_VALUE") {
		t.Errorf("oversized block: %v", err)
	}
}

func TestInvalidPTX(t *testing.T) {
	_, c := fakeCtx(t)
	if _, err := c.LoadModule([]byte("garbage")); err == nil || !strings.Contains(err.Error(), "CUDA_ERROR_INVALID_PTX") {
		t.Fatalf("err = %v", err)
	}
}

func TestFailureInjectionCarriesName(t *testing.T) {
	f, c := fakeCtx(t)
	f.FailOn["cuMemAlloc"] = driver.ErrorIllegalAddress
	_, err := c.Alloc(16)
	var e *Error
	if !errors.As(err, &e) || e.Name != "CUDA_ERROR_ILLEGAL_ADDRESS" || e.Op != "cuMemAlloc" {
		t.Fatalf("err = %#v", err)
	}
}

func TestClosedContext(t *testing.T) {
	_, c := fakeCtx(t)
	c.Close()
	if _, err := c.Alloc(16); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("err = %v", err)
	}
}

// TestOpenWithoutDriver runs where no NVIDIA driver is installed (CI): the
// error must say why.
func TestOpenWithoutDriver(t *testing.T) {
	d, err := Open()
	if err == nil {
		devs, _ := d.Devices()
		t.Skipf("a driver is present (%d devices)", len(devs))
	}
	if errors.Is(err, ErrNoDriver) {
		if !strings.Contains(err.Error(), "no NVIDIA driver: libcuda.so.1 not found") {
			t.Errorf("message %q", err)
		}
		return
	}
	if !errors.Is(err, ErrNoDevice) {
		t.Errorf("unexpected error %v", err)
	}
}
