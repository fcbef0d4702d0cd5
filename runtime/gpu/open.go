package gpu

import (
	"fmt"
	"os"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/ops"
	"github.com/gguftool/gguftool/planner"
)

// FakeEnv names the environment variable that makes Open use the fake
// driver with CPU-emulated kernels instead of libcuda: its value is the
// simulated GPU's memory ("16GiB"). It exists so that the command line's
// GPU paths can be tested end to end on machines without a GPU (CI, the
// tests of cmd/gguftool); results are computed by the kernels' CPU twins.
const FakeEnv = "GGUFTOOL_FAKE_GPU"

// fakeContextReserve is what the simulated context takes, close to the
// real one with ops.Load's lowered stack limit (332.8 MiB on the H200,
// docs/cuda.md; planner.GguftoolReserve).
const fakeContextReserve = 333 << 20

// Open opens GPU ordinal through libcuda, or the fake driver when FakeEnv
// is set. Without a driver or GPU the error says why (cuda.ErrNoDriver,
// cuda.ErrNoDevice).
func Open(ordinal int) (*Backend, error) {
	size := os.Getenv(FakeEnv)
	if size == "" {
		return New(ordinal)
	}
	total, err := planner.ParseSize(size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", FakeEnv, err)
	}
	f := cuda.NewFake(cuda.FakeDevice{Name: "Fake GPU (CPU-emulated kernels)", TotalMem: uint64(total), Major: 8, SMs: 1, ContextReserve: fakeContextReserve})
	ops.Emulate(f)
	d, err := cuda.New(f)
	if err != nil {
		return nil, err
	}
	return newOn(d, ordinal)
}

// MemInfo is the device's free and total memory now (cuMemGetInfo): the
// whole device, so total − free includes the CUDA context and any other
// process on the GPU.
func (b *Backend) MemInfo() (free, total uint64, err error) { return b.ctx.MemInfo() }

// FreeAtStart is the free device memory right after the context and the
// kernels were loaded, before this backend allocated anything.
func (b *Backend) FreeAtStart() uint64 { return b.freeAtStart }

// Name is the GPU's name as the driver reports it.
func (b *Backend) Name() string {
	n, err := b.ctx.API().DeviceName(b.ctx.Device())
	if err != nil {
		return b.dev.String()
	}
	return n
}
