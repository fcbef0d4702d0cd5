package cuda

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"

	"github.com/gguftool/gguftool/cuda/driver"
)

// Driver is an initialized CUDA driver.
type Driver struct {
	api API
}

var (
	openOnce sync.Once
	openDrv  *Driver
	openErr  error
)

// Open loads libcuda.so.1 and initializes it (once per process). Without a
// driver the error wraps ErrNoDriver and says that libcuda.so.1 was not
// found; with a driver but no GPU it wraps ErrNoDevice.
func Open() (*Driver, error) {
	openOnce.Do(func() {
		l, err := driver.Load()
		if err != nil {
			if errors.Is(err, driver.ErrNotFound) {
				err = fmt.Errorf("%w: %w", ErrNoDriver, err)
			}
			openErr = err
			return
		}
		openDrv, openErr = New(realAPI{l})
	})
	return openDrv, openErr
}

// New initializes a driver over api (the fake in tests).
func New(api API) (*Driver, error) {
	if err := api.Init(); err != nil {
		return nil, err
	}
	return &Driver{api: api}, nil
}

// API returns the underlying driver calls.
func (d *Driver) API() API { return d.api }

// Version returns the driver's CUDA version as "major.minor" (e.g. "13.0").
func (d *Driver) Version() (string, error) {
	v, err := d.api.DriverVersion()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d.%d", v/1000, (v%1000)/10), nil
}

// DeviceInfo describes one GPU.
type DeviceInfo struct {
	Ordinal         int    `json:"ordinal"`
	Name            string `json:"name"`
	TotalMemory     uint64 `json:"total_memory_bytes"`
	ComputeMajor    int    `json:"compute_major"`
	ComputeMinor    int    `json:"compute_minor"`
	Multiprocessors int    `json:"multiprocessors"`
	PCIBusID        string `json:"pci_bus_id,omitempty"`
}

// ComputeCapability returns "major.minor", e.g. "9.0".
func (i DeviceInfo) ComputeCapability() string {
	return fmt.Sprintf("%d.%d", i.ComputeMajor, i.ComputeMinor)
}

// Devices lists the GPUs the driver sees.
func (d *Driver) Devices() ([]DeviceInfo, error) {
	n, err := d.api.DeviceCount()
	if err != nil {
		return nil, err
	}
	out := make([]DeviceInfo, 0, n)
	for i := 0; i < n; i++ {
		info, err := d.Device(i)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// Device describes GPU ordinal i.
func (d *Driver) Device(i int) (DeviceInfo, error) {
	info := DeviceInfo{Ordinal: i}
	var err error
	if info.Name, err = d.api.DeviceName(i); err != nil {
		return info, err
	}
	if info.TotalMemory, err = d.api.DeviceTotalMem(i); err != nil {
		return info, err
	}
	if info.ComputeMajor, err = d.api.DeviceAttribute(i, AttrComputeCapabilityMajor); err != nil {
		return info, err
	}
	if info.ComputeMinor, err = d.api.DeviceAttribute(i, AttrComputeCapabilityMinor); err != nil {
		return info, err
	}
	if info.Multiprocessors, err = d.api.DeviceAttribute(i, AttrMultiprocessorCount); err != nil {
		return info, err
	}
	info.PCIBusID, _ = d.api.DevicePCIBusID(i) // informational only
	return info, nil
}

// Context is the primary context of one device. Its methods make the
// context current on the calling OS thread first, so they may be called from
// any goroutine.
type Context struct {
	api    API
	dev    int
	ctx    Ctx
	mu     sync.Mutex
	closed bool
}

// Context retains the primary context of device ordinal (creating it on
// first use, which is when the driver reserves its own device memory).
func (d *Driver) Context(ordinal int) (*Context, error) {
	n, err := d.api.DeviceCount()
	if err != nil {
		return nil, err
	}
	if ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("cuda: device %d does not exist (%d device(s))", ordinal, n)
	}
	c, err := d.api.PrimaryCtxRetain(ordinal)
	if err != nil {
		return nil, err
	}
	ctx := &Context{api: d.api, dev: ordinal, ctx: c}
	if err := ctx.do(func() error { return nil }); err != nil {
		d.api.PrimaryCtxRelease(ordinal)
		return nil, err
	}
	return ctx, nil
}

// do runs f with the context current on a locked OS thread: CUDA's current
// context is per thread, and goroutines move between threads.
func (c *Context) do(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if c.closed {
		return errors.New("cuda: context is closed")
	}
	if err := c.api.CtxSetCurrent(c.ctx); err != nil {
		return err
	}
	return f()
}

// Device returns the context's device ordinal.
func (c *Context) Device() int { return c.dev }

// API returns the underlying driver calls (make the context current first;
// prefer the Context methods).
func (c *Context) API() API { return c.api }

// Close releases the primary context. Memory and modules should be freed
// first; the driver frees whatever remains when the last reference goes.
func (c *Context) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	err := c.do(c.api.CtxSynchronize)
	c.closed = true
	if e := c.api.PrimaryCtxRelease(c.dev); err == nil {
		err = e
	}
	return err
}

// Synchronize waits for all work in the context.
func (c *Context) Synchronize() error { return c.do(c.api.CtxSynchronize) }

// MemInfo returns the device's free and total memory as the driver sees it
// (all processes and contexts included).
func (c *Context) MemInfo() (free, total uint64, err error) {
	err = c.do(func() error {
		var e error
		free, total, e = c.api.MemGetInfo()
		return e
	})
	return
}

// Buffer is device memory owned by a context.
type Buffer struct {
	ctx  *Context
	Ptr  DevicePtr
	Size uint64
	view bool // a Slice of another buffer: Free releases nothing
}

// Slice returns a view of n bytes at off of b, for packing many buffers
// into one allocation (the driver hands out device memory in 2 MiB pages).
// Freeing the view releases nothing; the view is valid while b is.
func (b *Buffer) Slice(off, n uint64) (*Buffer, error) {
	if err := b.check("slice", off, n); err != nil {
		return nil, err
	}
	return &Buffer{ctx: b.ctx, Ptr: b.At(off), Size: n, view: true}, nil
}

// Alloc allocates n bytes of device memory (contents undefined).
func (c *Context) Alloc(n uint64) (*Buffer, error) {
	var p DevicePtr
	err := c.do(func() error {
		var e error
		p, e = c.api.MemAlloc(n)
		return e
	})
	if err != nil {
		if e, ok := err.(*Error); ok && e.Detail == "" {
			e.Detail = fmt.Sprintf("%d bytes", n)
		}
		return nil, err
	}
	return &Buffer{ctx: c, Ptr: p, Size: n}, nil
}

// Free releases the buffer; freeing twice is a no-op.
func (b *Buffer) Free() error {
	if b == nil || b.Ptr == 0 {
		return nil
	}
	if b.view {
		b.Ptr = 0
		return nil
	}
	err := b.ctx.do(func() error { return b.ctx.api.MemFree(b.Ptr) })
	b.Ptr = 0
	return err
}

// At returns the device address off bytes into the buffer.
func (b *Buffer) At(off uint64) DevicePtr { return b.Ptr + DevicePtr(off) }

func (b *Buffer) check(op string, off, n uint64) error {
	if off > b.Size || n > b.Size-off {
		return fmt.Errorf("cuda: %s of %d bytes at offset %d overruns the %d-byte buffer", op, n, off, b.Size)
	}
	return nil
}

// Upload copies src to the buffer at off, synchronously.
func (b *Buffer) Upload(off uint64, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	if err := b.check("upload", off, uint64(len(src))); err != nil {
		return err
	}
	return b.ctx.do(func() error {
		return b.ctx.api.MemcpyHtoD(b.At(off), unsafe.Pointer(&src[0]), uint64(len(src)))
	})
}

// Download copies len(dst) bytes at off from the buffer, synchronously.
func (b *Buffer) Download(off uint64, dst []byte) error {
	if len(dst) == 0 {
		return nil
	}
	if err := b.check("download", off, uint64(len(dst))); err != nil {
		return err
	}
	return b.ctx.do(func() error {
		return b.ctx.api.MemcpyDtoH(unsafe.Pointer(&dst[0]), b.At(off), uint64(len(dst)))
	})
}

// UploadFloat32 copies src to the start of the buffer.
func (b *Buffer) UploadFloat32(src []float32) error { return b.Upload(0, Float32Bytes(src)) }

// DownloadFloat32 fills dst from the start of the buffer.
func (b *Buffer) DownloadFloat32(dst []float32) error { return b.Download(0, Float32Bytes(dst)) }

// Float32Bytes views a float32 slice as bytes (no copy).
func Float32Bytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 4*len(f))
}

// Int32Bytes views an int32 slice as bytes (no copy).
func Int32Bytes(v []int32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

// HostBuffer is page-locked host memory: the GPU copies from and to it at
// full bus speed and asynchronously.
type HostBuffer struct {
	ctx  *Context
	p    unsafe.Pointer
	data []byte
}

// AllocHost allocates n bytes of pinned host memory.
func (c *Context) AllocHost(n uint64) (*HostBuffer, error) {
	if n == 0 {
		return nil, errors.New("cuda: zero-byte host allocation")
	}
	var p unsafe.Pointer
	err := c.do(func() error {
		var e error
		p, e = c.api.MemAllocHost(n)
		return e
	})
	if err != nil {
		return nil, err
	}
	return &HostBuffer{ctx: c, p: p, data: unsafe.Slice((*byte)(p), n)}, nil
}

// Bytes is the buffer's memory.
func (h *HostBuffer) Bytes() []byte { return h.data }

// Float32s views the buffer as float32s.
func (h *HostBuffer) Float32s() []float32 {
	return unsafe.Slice((*float32)(h.p), len(h.data)/4)
}

// Free releases the pinned memory; the slices from Bytes become invalid.
func (h *HostBuffer) Free() error {
	if h == nil || h.p == nil {
		return nil
	}
	err := h.ctx.do(func() error { return h.ctx.api.MemFreeHost(h.p) })
	h.p, h.data = nil, nil
	return err
}

// Register page-locks existing host memory (e.g. an mmap'd weight region)
// so that copies from it run at full speed. readOnly must be set for
// memory mapped without write permission (a GGUF opened read-only).
// Unregister undoes it.
func (c *Context) Register(b []byte, readOnly bool) error {
	if len(b) == 0 {
		return nil
	}
	flags := uint32(0)
	if readOnly {
		flags = 0x08 // CU_MEMHOSTREGISTER_READ_ONLY
	}
	return c.do(func() error { return c.api.MemHostRegister(unsafe.Pointer(&b[0]), uint64(len(b)), flags) })
}

// Unregister undoes Register.
func (c *Context) Unregister(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return c.do(func() error { return c.api.MemHostUnregister(unsafe.Pointer(&b[0])) })
}

// Stream is an ordered queue of device work.
type Stream struct {
	ctx *Context
	id  StreamID
}

// NewStream creates a stream that does not synchronize with the legacy
// default stream.
func (c *Context) NewStream() (*Stream, error) {
	var s StreamID
	err := c.do(func() error {
		var e error
		s, e = c.api.StreamCreate()
		return e
	})
	if err != nil {
		return nil, err
	}
	return &Stream{ctx: c, id: s}, nil
}

// ID returns the driver handle (0 for the default stream).
func (s *Stream) ID() StreamID {
	if s == nil {
		return 0
	}
	return s.id
}

// Destroy releases the stream after its queued work completes.
func (s *Stream) Destroy() error {
	if s == nil || s.id == 0 {
		return nil
	}
	err := s.ctx.do(func() error { return s.ctx.api.StreamDestroy(s.id) })
	s.id = 0
	return err
}

// Synchronize waits for the stream's work.
func (s *Stream) Synchronize() error {
	return s.ctx.do(func() error { return s.ctx.api.StreamSynchronize(s.id) })
}

// Wait makes later work on s wait for e.
func (s *Stream) Wait(e *Event) error {
	return s.ctx.do(func() error { return s.ctx.api.StreamWaitEvent(s.id, e.id) })
}

// UploadAsync queues a copy of src to dst. src must stay untouched until
// the stream reaches the copy; it should be pinned (HostBuffer or Register)
// for the copy to overlap with other work.
func (s *Stream) UploadAsync(dst DevicePtr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	return s.ctx.do(func() error {
		return s.ctx.api.MemcpyHtoDAsync(dst, unsafe.Pointer(&src[0]), uint64(len(src)), s.id)
	})
}

// DownloadAsync queues a copy of len(dst) bytes from src into dst.
func (s *Stream) DownloadAsync(dst []byte, src DevicePtr) error {
	if len(dst) == 0 {
		return nil
	}
	return s.ctx.do(func() error {
		return s.ctx.api.MemcpyDtoHAsync(unsafe.Pointer(&dst[0]), src, uint64(len(dst)), s.id)
	})
}

// CopyAsync queues a device-to-device copy.
func (s *Stream) CopyAsync(dst, src DevicePtr, n uint64) error {
	if n == 0 {
		return nil
	}
	return s.ctx.do(func() error { return s.ctx.api.MemcpyDtoDAsync(dst, src, n, s.id) })
}

// Fill32 queues setting n 32-bit words at dst to v (e.g. a NaN poison).
func (s *Stream) Fill32(dst DevicePtr, v uint32, n uint64) error {
	return s.ctx.do(func() error { return s.ctx.api.MemsetD32Async(dst, v, n, s.id) })
}

// Event marks a point in a stream, for ordering and timing.
type Event struct {
	ctx *Context
	id  EventID
}

// NewEvent creates an event; timing events can be used with Elapsed.
func (c *Context) NewEvent(timing bool) (*Event, error) {
	var e EventID
	err := c.do(func() error {
		var err error
		e, err = c.api.EventCreate(timing)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Event{ctx: c, id: e}, nil
}

// Record marks the current end of stream s (nil: the default stream).
func (e *Event) Record(s *Stream) error {
	return e.ctx.do(func() error { return e.ctx.api.EventRecord(e.id, s.ID()) })
}

// Synchronize waits until the event's point is reached.
func (e *Event) Synchronize() error {
	return e.ctx.do(func() error { return e.ctx.api.EventSynchronize(e.id) })
}

// Elapsed returns the milliseconds between two recorded timing events.
func Elapsed(start, end *Event) (float32, error) {
	var ms float32
	err := end.ctx.do(func() error {
		var err error
		ms, err = end.ctx.api.EventElapsedTime(start.id, end.id)
		return err
	})
	return ms, err
}

// Destroy releases the event.
func (e *Event) Destroy() error {
	if e == nil || e.id == 0 {
		return nil
	}
	err := e.ctx.do(func() error { return e.ctx.api.EventDestroy(e.id) })
	e.id = 0
	return err
}

// Module is loaded device code.
type Module struct {
	ctx *Context
	id  ModuleID
}

// LoadModule JIT-compiles PTX (or loads a cubin) into the context. A PTX
// error carries the JIT log.
func (c *Context) LoadModule(image []byte) (*Module, error) {
	var m ModuleID
	err := c.do(func() error {
		var e error
		m, e = c.api.ModuleLoadData(image)
		return e
	})
	if err != nil {
		return nil, err
	}
	return &Module{ctx: c, id: m}, nil
}

// Unload releases the module.
func (m *Module) Unload() error {
	if m == nil || m.id == 0 {
		return nil
	}
	err := m.ctx.do(func() error { return m.ctx.api.ModuleUnload(m.id) })
	m.id = 0
	return err
}

// Function is one kernel entry point of a module.
type Function struct {
	ctx  *Context
	id   FunctionID
	Name string
}

// Function looks up a kernel by its (extern "C") name.
func (m *Module) Function(name string) (*Function, error) {
	var f FunctionID
	err := m.ctx.do(func() error {
		var e error
		f, e = m.ctx.api.ModuleGetFunction(m.id, name)
		return e
	})
	if err != nil {
		return nil, err
	}
	return &Function{ctx: m.ctx, id: f, Name: name}, nil
}

// Launch queues the kernel on s (nil: the default stream). Arguments may be
// DevicePtr, *Buffer (its address), int32, uint32, int (must fit int32),
// float32, uint64 and int64; each must match the kernel's parameter type.
func (f *Function) Launch(s *Stream, grid, block Dim3, sharedMem uint32, args ...any) error {
	slots := make([]uint64, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case DevicePtr:
			slots[i] = uint64(v)
		case *Buffer:
			if v == nil {
				slots[i] = 0
			} else {
				slots[i] = uint64(v.Ptr)
			}
		case int32:
			slots[i] = uint64(uint32(v))
		case uint32:
			slots[i] = uint64(v)
		case int:
			if v < math.MinInt32 || v > math.MaxInt32 {
				return fmt.Errorf("cuda: %s argument %d: %d does not fit int32", f.Name, i, v)
			}
			slots[i] = uint64(uint32(int32(v)))
		case float32:
			slots[i] = uint64(math.Float32bits(v))
		case uint64:
			slots[i] = v
		case int64:
			slots[i] = uint64(v)
		default:
			return fmt.Errorf("cuda: %s argument %d: unsupported type %T", f.Name, i, a)
		}
	}
	return f.ctx.do(func() error {
		err := f.ctx.api.LaunchKernel(f.id, grid, block, sharedMem, s.ID(), slots)
		if e, ok := err.(*Error); ok && e.Detail == "" {
			e.Detail = f.Name
		}
		return err
	})
}
