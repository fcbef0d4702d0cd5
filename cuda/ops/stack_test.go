package ops

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/kernels"
)

// TestLoadSetsKernelStack: Load lowers the context's stack to KernelStack,
// $GGUFTOOL_CUDA_STACK overrides it ("default" keeps the driver's), and a
// bad value is an error naming the variable.
func TestLoadSetsKernelStack(t *testing.T) {
	for _, c := range []struct {
		env  string
		want uint64
	}{{"", KernelStack}, {"512", 512}, {"default", cuda.FakeDefaultStack}} {
		t.Setenv(StackEnv, c.env)
		f := cuda.NewFake()
		d, err := cuda.New(f)
		if err != nil {
			t.Fatal(err)
		}
		ctx, err := d.Context(0)
		if err != nil {
			t.Fatal(err)
		}
		k, err := Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := ctx.Limit(cuda.LimitStackSize); err != nil || got != c.want {
			t.Errorf("%s=%q: stack %d (%v), want %d", StackEnv, c.env, got, err, c.want)
		}
		k.Close()
		ctx.Close()
	}
	t.Setenv(StackEnv, "lots")
	f := cuda.NewFake()
	d, _ := cuda.New(f)
	ctx, _ := d.Context(0)
	defer ctx.Close()
	if _, err := Load(ctx); err == nil {
		t.Error("a bad stack size was accepted")
	}
}

// TestKernelStackCoversLocalDepots: no embedded kernel declares more local
// memory (its stack frame before register allocation) than KernelStack.
func TestKernelStackCoversLocalDepots(t *testing.T) {
	depot := regexp.MustCompile(`\.local \.align \d+ \.b8\s+__local_depot\d+\[(\d+)\]`)
	largest := 0
	for _, m := range kernels.Modules() {
		ptx, err := kernels.PTX(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range depot.FindAllSubmatch(ptx, -1) {
			n, _ := strconv.Atoi(string(d[1]))
			if n > KernelStack {
				t.Errorf("module %s: a kernel's local depot is %d bytes, more than KernelStack %d", m, n, KernelStack)
			}
			largest = max(largest, n)
		}
	}
	t.Logf("largest local depot %d bytes (KernelStack %d)", largest, KernelStack)
}
