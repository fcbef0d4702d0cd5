package cuda

import (
	"errors"
	"fmt"
)

// Limit is a CUlimit: a per-context resource limit.
type Limit int32

// Limits gguftool sets.
const (
	// LimitStackSize is the stack of each GPU thread in bytes. The driver
	// backs it with local memory for every thread the device can hold at
	// once (SMs × max resident threads), part of the context's fixed VRAM:
	// the default 1 KiB is ~260 MiB on a 132-SM H100. gguftool's kernels
	// need far less (ops.Load sets ops.KernelStack).
	LimitStackSize Limit = 0x00
)

// FakeDefaultStack is the fake driver's initial LimitStackSize, the real
// drivers' default.
const FakeDefaultStack = 1024

// SetLimit sets a resource limit of the context (cuCtxSetLimit).
func (c *Context) SetLimit(l Limit, v uint64) error {
	return c.do(func() error { return c.api.CtxSetLimit(l, v) })
}

// Limit reads a resource limit of the context (cuCtxGetLimit).
func (c *Context) Limit(l Limit) (uint64, error) {
	var v uint64
	err := c.do(func() error {
		var e error
		v, e = c.api.CtxGetLimit(l)
		return e
	})
	return v, err
}

var errNoLimits = errors.New("cuda: this driver has no cuCtxSetLimit/cuCtxGetLimit")

func (a realAPI) CtxSetLimit(l Limit, v uint64) error {
	if a.l.CuCtxSetLimit == nil {
		return errNoLimits
	}
	return a.check("cuCtxSetLimit", a.l.CuCtxSetLimit(int32(l), v))
}

func (a realAPI) CtxGetLimit(l Limit) (uint64, error) {
	if a.l.CuCtxGetLimit == nil {
		return 0, errNoLimits
	}
	var v uint64
	err := a.check("cuCtxGetLimit", a.l.CuCtxGetLimit(&v, int32(l)))
	return v, err
}

// CtxSetLimit implements API: it records the value (only LimitStackSize).
func (f *Fake) CtxSetLimit(l Limit, v uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.needCtx("cuCtxSetLimit"); err != nil {
		return err
	}
	if l != LimitStackSize {
		return fmt.Errorf("fake cuda: cuCtxSetLimit: limit %d not simulated", l)
	}
	if f.limits == nil {
		f.limits = map[Limit]uint64{}
	}
	f.limits[l] = v
	return nil
}

// CtxGetLimit implements API.
func (f *Fake) CtxGetLimit(l Limit) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.needCtx("cuCtxGetLimit"); err != nil {
		return 0, err
	}
	if l != LimitStackSize {
		return 0, fmt.Errorf("fake cuda: cuCtxGetLimit: limit %d not simulated", l)
	}
	if v, ok := f.limits[l]; ok {
		return v, nil
	}
	return FakeDefaultStack, nil
}
