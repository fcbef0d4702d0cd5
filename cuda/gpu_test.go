//go:build cuda

package cuda_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/kernels"
	"github.com/gguftool/gguftool/cuda/ops"
)

var ptxDir = flag.String("ptxdir", "", "load PTX from this directory instead of the embedded copy")

// smi runs nvidia-smi with a query and returns the first CSV line's fields.
func smi(args ...string) []string {
	out, err := exec.Command("nvidia-smi", append(args, "--format=csv,noheader,nounits")...).Output()
	if err != nil {
		return nil
	}
	var f []string
	for _, s := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		for _, x := range strings.Split(s, ",") {
			f = append(f, strings.TrimSpace(x))
		}
	}
	return f
}

func smiUsedMiB() int {
	f := smi("--query-gpu=memory.used", "-i", "0")
	if len(f) == 0 {
		return -1
	}
	v, _ := strconv.Atoi(f[0])
	return v
}

// smiProcessMiB is this process's memory as nvidia-smi lists it.
func smiProcessMiB() int {
	f := smi("--query-compute-apps=pid,used_memory")
	for i := 0; i+1 < len(f); i += 2 {
		if f[i] == strconv.Itoa(os.Getpid()) {
			v, _ := strconv.Atoi(f[i+1])
			return v
		}
	}
	return -1
}

// TestContextOverheadGPU measures what the CUDA context costs in device
// memory: run it alone in a fresh process (-test.run ContextOverhead), so
// that no context exists before it. It prints a CTXOVERHEAD JSON line.
func TestContextOverheadGPU(t *testing.T) {
	before := smiUsedMiB()
	d, err := cuda.Open()
	if err != nil {
		t.Fatal(err)
	}
	afterInit := smiUsedMiB()
	ctx, err := d.Context(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	free1, total, err := ctx.MemInfo()
	if err != nil {
		t.Fatal(err)
	}
	smiCtx, procCtx := smiUsedMiB(), smiProcessMiB()
	src := kernels.PTX
	if *ptxDir != "" {
		src = func(m string) ([]byte, error) { return os.ReadFile(filepath.Join(*ptxDir, m+".ptx")) }
	}
	k, err := ops.LoadFrom(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	buf, _ := ctx.Alloc(4096)
	defer buf.Free()
	if err := k.Scale(nil, buf.Ptr, buf.Ptr, 16, 2); err != nil {
		t.Fatal(err)
	}
	if err := ctx.Synchronize(); err != nil {
		t.Fatal(err)
	}
	free2, _, _ := ctx.MemInfo()
	smiMods, procMods := smiUsedMiB(), smiProcessMiB()
	r := map[string]any{
		"total_bytes":                      total,
		"smi_used_before_mib":              before,
		"smi_used_after_cuinit_mib":        afterInit,
		"meminfo_used_after_ctx_bytes":     total - free1,
		"smi_used_after_ctx_mib":           smiCtx,
		"smi_process_after_ctx_mib":        procCtx,
		"meminfo_used_after_kernels_bytes": total - free2,
		"smi_used_after_kernels_mib":       smiMods,
		"smi_process_after_kernels_mib":    procMods,
	}
	b, _ := json.Marshal(r)
	fmt.Printf("CTXOVERHEAD %s\n", b)
}

func TestDevicesGPU(t *testing.T) {
	d, err := cuda.Open()
	if err != nil {
		t.Fatal(err)
	}
	devs, err := d.Devices()
	if err != nil || len(devs) == 0 {
		t.Fatalf("devices %v, %v", devs, err)
	}
	v, _ := d.Version()
	for _, dv := range devs {
		fmt.Printf("GPUDEVICE %d %q %d bytes cc %s sms %d driver %s\n", dv.Ordinal, dv.Name, dv.TotalMemory, dv.ComputeCapability(), dv.Multiprocessors, v)
		if dv.TotalMemory == 0 || dv.ComputeMajor < 7 {
			t.Errorf("implausible device %+v", dv)
		}
	}
}

// TestCopiesGPU round-trips data through device memory with plain and
// pinned buffers, and logs the pinned host-to-device bandwidth.
func TestCopiesGPU(t *testing.T) {
	d, err := cuda.Open()
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := d.Context(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	const n = 256 << 20
	h, err := ctx.AllocHost(n)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Free()
	for i := range h.Bytes() {
		h.Bytes()[i] = byte(i * 7)
	}
	b, err := ctx.Alloc(n)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Free()
	s, _ := ctx.NewStream()
	defer s.Destroy()
	e0, _ := ctx.NewEvent(true)
	e1, _ := ctx.NewEvent(true)
	s.UploadAsync(b.Ptr, h.Bytes()) // warm-up
	e0.Record(s)
	const reps = 5
	for i := 0; i < reps; i++ {
		if err := s.UploadAsync(b.Ptr, h.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	e1.Record(s)
	if err := e1.Synchronize(); err != nil {
		t.Fatal(err)
	}
	ms, _ := cuda.Elapsed(e0, e1)
	fmt.Printf("GPUBW pinned host-to-device %.1f GB/s\n", float64(reps*n)/float64(ms)/1e6)
	back := make([]byte, n)
	if err := b.Download(0, back); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 4093 {
		if back[i] != byte(i*7) {
			t.Fatalf("byte %d = %d after round trip", i, back[i])
		}
	}
	if _, err := ctx.Alloc(1 << 50); !cuda.IsOutOfMemory(err) {
		t.Errorf("1 PiB allocation: %v", err)
	}
}
