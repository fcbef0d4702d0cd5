package cuda

import (
	"fmt"
	"regexp"
	"sort"
	"sync"
	"unsafe"

	"github.com/gguftool/gguftool/cuda/driver"
)

// FakeDevice describes one simulated GPU.
type FakeDevice struct {
	Name           string
	TotalMem       uint64
	Major, Minor   int
	SMs            int
	ContextReserve uint64 // device memory the simulated context takes
}

// Launch is one recorded kernel launch of the fake driver.
type Launch struct {
	Name      string
	Grid      Dim3
	Block     Dim3
	SharedMem uint32
	Stream    StreamID
	Args      []uint64
}

// FakeKernel emulates a kernel on the fake's memory (for example by running
// its CPU twin), so code above cuda can be tested end to end without a GPU.
type FakeKernel func(f *Fake, l Launch) error

// Fake is an in-memory API for tests: it simulates devices, memory (with
// bounds-checked copies), streams, events and modules parsed from PTX, and
// records every launch. Kernels registered in Kernels run on launch;
// others are only recorded.
type Fake struct {
	mu       sync.Mutex
	Devices  []FakeDevice
	Version  int                      // driver version, e.g. 13000
	Kernels  map[string]FakeKernel    // emulated kernels by entry name
	FailOn   map[string]driver.Result // make the named call (e.g. "cuMemAlloc") fail
	Launches []Launch

	// Strict makes launching a kernel without an emulation an error
	// instead of a recorded no-op: where results are compared, a kernel
	// that silently did nothing would otherwise show up only as wrong
	// numbers far downstream.
	Strict bool

	current  int // current device, -1 when no context
	retained map[int]int
	allocs   map[DevicePtr][]byte
	next     DevicePtr
	host     map[unsafe.Pointer][]byte
	modules  map[ModuleID]map[string]bool
	funcs    map[FunctionID]string
	handles  uintptr
	limits   map[Limit]uint64 // cuCtxSetLimit values (limit.go)
}

// NewFake returns a fake driver with the given devices (one 16 GiB
// compute-8.0 device when none are given).
func NewFake(devs ...FakeDevice) *Fake {
	if len(devs) == 0 {
		devs = []FakeDevice{{Name: "Fake GPU", TotalMem: 16 << 30, Major: 8, Minor: 0, SMs: 108, ContextReserve: 500 << 20}}
	}
	return &Fake{
		Devices: devs, Version: 13000, Kernels: map[string]FakeKernel{}, FailOn: map[string]driver.Result{},
		current: -1, retained: map[int]int{}, allocs: map[DevicePtr][]byte{}, next: 0x7f0000000000,
		host: map[unsafe.Pointer][]byte{}, modules: map[ModuleID]map[string]bool{}, funcs: map[FunctionID]string{},
	}
}

func (f *Fake) fail(op string) error {
	if r, ok := f.FailOn[op]; ok {
		return resultError(op, r)
	}
	return nil
}

func (f *Fake) handle() uintptr { f.handles++; return f.handles }

func (f *Fake) dev(op string, d int) error {
	if err := f.fail(op); err != nil {
		return err
	}
	if d < 0 || d >= len(f.Devices) {
		return resultError(op, driver.ErrorInvalidDevice)
	}
	return nil
}

func (f *Fake) needCtx(op string) error {
	if err := f.fail(op); err != nil {
		return err
	}
	if f.current < 0 {
		return resultError(op, driver.ErrorInvalidContext)
	}
	return nil
}

// Init implements API.
func (f *Fake) Init() error {
	if err := f.fail("cuInit"); err != nil {
		return err
	}
	if len(f.Devices) == 0 {
		return resultError("cuInit", driver.ErrorNoDevice)
	}
	return nil
}

// DriverVersion implements API.
func (f *Fake) DriverVersion() (int, error) { return f.Version, f.fail("cuDriverGetVersion") }

// DeviceCount implements API.
func (f *Fake) DeviceCount() (int, error) { return len(f.Devices), f.fail("cuDeviceGetCount") }

// DeviceName implements API.
func (f *Fake) DeviceName(d int) (string, error) {
	if err := f.dev("cuDeviceGetName", d); err != nil {
		return "", err
	}
	return f.Devices[d].Name, nil
}

// DeviceTotalMem implements API.
func (f *Fake) DeviceTotalMem(d int) (uint64, error) {
	if err := f.dev("cuDeviceTotalMem", d); err != nil {
		return 0, err
	}
	return f.Devices[d].TotalMem, nil
}

// DeviceAttribute implements API.
func (f *Fake) DeviceAttribute(d int, attr DeviceAttr) (int, error) {
	if err := f.dev("cuDeviceGetAttribute", d); err != nil {
		return 0, err
	}
	dv := f.Devices[d]
	switch attr {
	case AttrComputeCapabilityMajor:
		return dv.Major, nil
	case AttrComputeCapabilityMinor:
		return dv.Minor, nil
	case AttrMultiprocessorCount:
		return dv.SMs, nil
	case AttrMaxThreadsPerBlock:
		return 1024, nil
	case AttrMaxSharedMemoryPerBlock:
		return 48 << 10, nil
	}
	return 0, nil
}

// DevicePCIBusID implements API.
func (f *Fake) DevicePCIBusID(d int) (string, error) {
	if err := f.dev("cuDeviceGetPCIBusId", d); err != nil {
		return "", err
	}
	return fmt.Sprintf("0000:%02x:00.0", d+1), nil
}

// PrimaryCtxRetain implements API.
func (f *Fake) PrimaryCtxRetain(d int) (Ctx, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.dev("cuDevicePrimaryCtxRetain", d); err != nil {
		return 0, err
	}
	f.retained[d]++
	return Ctx(d + 1), nil
}

// PrimaryCtxRelease implements API.
func (f *Fake) PrimaryCtxRelease(d int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.dev("cuDevicePrimaryCtxRelease", d); err != nil {
		return err
	}
	if f.retained[d] == 0 {
		return resultError("cuDevicePrimaryCtxRelease", driver.ErrorInvalidContext)
	}
	f.retained[d]--
	return nil
}

// CtxSetCurrent implements API.
func (f *Fake) CtxSetCurrent(c Ctx) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("cuCtxSetCurrent"); err != nil {
		return err
	}
	d := int(c) - 1
	if c != 0 && (d >= len(f.Devices) || f.retained[d] == 0) {
		return resultError("cuCtxSetCurrent", driver.ErrorInvalidContext)
	}
	f.current = d
	return nil
}

// CtxSynchronize implements API.
func (f *Fake) CtxSynchronize() error { return f.needCtx("cuCtxSynchronize") }

// MemGetInfo implements API: total minus the context's reserve minus live
// allocations.
func (f *Fake) MemGetInfo() (free, total uint64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.needCtx("cuMemGetInfo"); err != nil {
		return 0, 0, err
	}
	d := f.Devices[f.current]
	used := d.ContextReserve
	for _, b := range f.allocs {
		used += uint64(cap(b))
	}
	if used > d.TotalMem {
		used = d.TotalMem
	}
	return d.TotalMem - used, d.TotalMem, nil
}

// MemAlloc implements API. Allocations are rounded to 256 bytes, as the
// driver's are, and fail with CUDA_ERROR_OUT_OF_MEMORY past the device size.
func (f *Fake) MemAlloc(n uint64) (DevicePtr, error) {
	free, _, err := f.MemGetInfo()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if err := f.fail("cuMemAlloc"); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, resultError("cuMemAlloc", driver.ErrorInvalidValue)
	}
	size := (n + 255) &^ 255
	if size > free {
		return 0, resultError("cuMemAlloc", driver.ErrorOutOfMemory)
	}
	p := f.next
	f.next += DevicePtr(size) + 4096 // a gap so overruns do not land in a neighbour
	f.allocs[p] = make([]byte, n, size)
	return p, nil
}

// MemFree implements API.
func (f *Fake) MemFree(p DevicePtr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.needCtx("cuMemFree"); err != nil {
		return err
	}
	if _, ok := f.allocs[p]; !ok {
		return resultError("cuMemFree", driver.ErrorInvalidValue)
	}
	delete(f.allocs, p)
	return nil
}

// Bytes returns the simulated device memory [p, p+n), which must lie inside
// one allocation. Fake kernels use it to read and write their operands.
func (f *Fake) Bytes(p DevicePtr, n uint64) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bytes(p, n)
}

func (f *Fake) bytes(p DevicePtr, n uint64) ([]byte, error) {
	bases := make([]DevicePtr, 0, len(f.allocs))
	for b := range f.allocs {
		bases = append(bases, b)
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	i := sort.Search(len(bases), func(i int) bool { return bases[i] > p }) - 1
	if i < 0 {
		return nil, fmt.Errorf("fake cuda: address %#x is not in any allocation", uint64(p))
	}
	buf := f.allocs[bases[i]]
	off := uint64(p - bases[i])
	if off+n > uint64(len(buf)) {
		return nil, fmt.Errorf("fake cuda: access [%#x, +%d) overruns the %d-byte allocation at %#x", uint64(p), n, len(buf), uint64(bases[i]))
	}
	return buf[off : off+n], nil
}

// MemAllocHost implements API with ordinary Go memory.
func (f *Fake) MemAllocHost(n uint64) (unsafe.Pointer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.needCtx("cuMemAllocHost"); err != nil {
		return nil, err
	}
	b := make([]byte, n)
	p := unsafe.Pointer(&b[0])
	f.host[p] = b
	return p, nil
}

// MemFreeHost implements API.
func (f *Fake) MemFreeHost(p unsafe.Pointer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.host[p]; !ok {
		return resultError("cuMemFreeHost", driver.ErrorInvalidValue)
	}
	delete(f.host, p)
	return nil
}

// MemHostRegister implements API (a no-op besides the failure hook).
func (f *Fake) MemHostRegister(p unsafe.Pointer, n uint64, flags uint32) error {
	return f.needCtx("cuMemHostRegister")
}

// MemHostUnregister implements API.
func (f *Fake) MemHostUnregister(p unsafe.Pointer) error { return f.needCtx("cuMemHostUnregister") }

func (f *Fake) copyIn(op string, dst DevicePtr, src unsafe.Pointer, n uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.needCtx(op); err != nil {
		return err
	}
	d, err := f.bytes(dst, n)
	if err != nil {
		return &Error{Op: op, Code: driver.ErrorInvalidValue, Name: "CUDA_ERROR_INVALID_VALUE", Message: "invalid argument", Detail: err.Error()}
	}
	copy(d, unsafe.Slice((*byte)(src), n))
	return nil
}

func (f *Fake) copyOut(op string, dst unsafe.Pointer, src DevicePtr, n uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.needCtx(op); err != nil {
		return err
	}
	s, err := f.bytes(src, n)
	if err != nil {
		return &Error{Op: op, Code: driver.ErrorInvalidValue, Name: "CUDA_ERROR_INVALID_VALUE", Message: "invalid argument", Detail: err.Error()}
	}
	copy(unsafe.Slice((*byte)(dst), n), s)
	return nil
}

func (f *Fake) copyDD(op string, dst, src DevicePtr, n uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.needCtx(op); err != nil {
		return err
	}
	s, err := f.bytes(src, n)
	if err == nil {
		var d []byte
		if d, err = f.bytes(dst, n); err == nil {
			copy(d, s)
			return nil
		}
	}
	return &Error{Op: op, Code: driver.ErrorInvalidValue, Name: "CUDA_ERROR_INVALID_VALUE", Message: "invalid argument", Detail: err.Error()}
}

// MemcpyHtoD implements API.
func (f *Fake) MemcpyHtoD(dst DevicePtr, src unsafe.Pointer, n uint64) error {
	return f.copyIn("cuMemcpyHtoD", dst, src, n)
}

// MemcpyDtoH implements API.
func (f *Fake) MemcpyDtoH(dst unsafe.Pointer, src DevicePtr, n uint64) error {
	return f.copyOut("cuMemcpyDtoH", dst, src, n)
}

// MemcpyDtoD implements API.
func (f *Fake) MemcpyDtoD(dst, src DevicePtr, n uint64) error {
	return f.copyDD("cuMemcpyDtoD", dst, src, n)
}

// MemcpyHtoDAsync implements API; the fake completes every operation at once.
func (f *Fake) MemcpyHtoDAsync(dst DevicePtr, src unsafe.Pointer, n uint64, _ StreamID) error {
	return f.copyIn("cuMemcpyHtoDAsync", dst, src, n)
}

// MemcpyDtoHAsync implements API.
func (f *Fake) MemcpyDtoHAsync(dst unsafe.Pointer, src DevicePtr, n uint64, _ StreamID) error {
	return f.copyOut("cuMemcpyDtoHAsync", dst, src, n)
}

// MemcpyDtoDAsync implements API.
func (f *Fake) MemcpyDtoDAsync(dst, src DevicePtr, n uint64, _ StreamID) error {
	return f.copyDD("cuMemcpyDtoDAsync", dst, src, n)
}

// MemsetD32Async implements API.
func (f *Fake) MemsetD32Async(dst DevicePtr, v uint32, n uint64, _ StreamID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.needCtx("cuMemsetD32Async"); err != nil {
		return err
	}
	d, err := f.bytes(dst, 4*n)
	if err != nil {
		return &Error{Op: "cuMemsetD32Async", Code: driver.ErrorInvalidValue, Name: "CUDA_ERROR_INVALID_VALUE", Message: "invalid argument", Detail: err.Error()}
	}
	for i := uint64(0); i < n; i++ {
		d[4*i], d[4*i+1], d[4*i+2], d[4*i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	return nil
}

// StreamCreate implements API.
func (f *Fake) StreamCreate() (StreamID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return StreamID(f.handle()), f.needCtx("cuStreamCreate")
}

// StreamDestroy implements API.
func (f *Fake) StreamDestroy(StreamID) error { return f.needCtx("cuStreamDestroy") }

// StreamSynchronize implements API.
func (f *Fake) StreamSynchronize(StreamID) error { return f.needCtx("cuStreamSynchronize") }

// StreamWaitEvent implements API.
func (f *Fake) StreamWaitEvent(StreamID, EventID) error { return f.needCtx("cuStreamWaitEvent") }

// EventCreate implements API.
func (f *Fake) EventCreate(bool) (EventID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return EventID(f.handle()), f.needCtx("cuEventCreate")
}

// EventDestroy implements API.
func (f *Fake) EventDestroy(EventID) error { return f.needCtx("cuEventDestroy") }

// EventRecord implements API.
func (f *Fake) EventRecord(EventID, StreamID) error { return f.needCtx("cuEventRecord") }

// EventSynchronize implements API.
func (f *Fake) EventSynchronize(EventID) error { return f.needCtx("cuEventSynchronize") }

// EventElapsedTime implements API; simulated time does not pass.
func (f *Fake) EventElapsedTime(EventID, EventID) (float32, error) {
	return 0, f.needCtx("cuEventElapsedTime")
}

var ptxEntry = regexp.MustCompile(`\.entry\s+([A-Za-z_$][A-Za-z0-9_$]*)\s*\(`)

// ModuleLoadData implements API: the module's functions are the PTX's
// .entry names; an image without one is rejected as invalid PTX.
func (f *Fake) ModuleLoadData(image []byte) (ModuleID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.needCtx("cuModuleLoadData"); err != nil {
		return 0, err
	}
	names := map[string]bool{}
	for _, m := range ptxEntry.FindAllSubmatch(image, -1) {
		names[string(m[1])] = true
	}
	if len(names) == 0 {
		return 0, &Error{Op: "cuModuleLoadData", Code: driver.ErrorInvalidPTX, Name: "CUDA_ERROR_INVALID_PTX",
			Message: "a PTX JIT compilation failed", Detail: "fake: no .entry in image"}
	}
	id := ModuleID(f.handle())
	f.modules[id] = names
	return id, nil
}

// ModuleUnload implements API.
func (f *Fake) ModuleUnload(m ModuleID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.modules[m]; !ok {
		return resultError("cuModuleUnload", driver.ErrorInvalidHandle)
	}
	delete(f.modules, m)
	return nil
}

// ModuleGetFunction implements API.
func (f *Fake) ModuleGetFunction(m ModuleID, name string) (FunctionID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.needCtx("cuModuleGetFunction"); err != nil {
		return 0, err
	}
	names, ok := f.modules[m]
	if !ok {
		return 0, resultError("cuModuleGetFunction", driver.ErrorInvalidHandle)
	}
	if !names[name] {
		e := resultError("cuModuleGetFunction", driver.ErrorNotFound).(*Error)
		e.Detail = name
		return 0, e
	}
	id := FunctionID(f.handle())
	f.funcs[id] = name
	return id, nil
}

// LaunchKernel implements API: it records the launch and runs the
// registered emulation, if any.
func (f *Fake) LaunchKernel(fn FunctionID, grid, block Dim3, shmem uint32, s StreamID, args []uint64) error {
	f.mu.Lock()
	if err := f.needCtx("cuLaunchKernel"); err != nil {
		f.mu.Unlock()
		return err
	}
	name, ok := f.funcs[fn]
	if !ok {
		f.mu.Unlock()
		return resultError("cuLaunchKernel", driver.ErrorInvalidHandle)
	}
	if block.X*block.Y*block.Z > 1024 || block.X*block.Y*block.Z == 0 || grid.X == 0 || grid.Y == 0 || grid.Z == 0 {
		f.mu.Unlock()
		return resultError("cuLaunchKernel", driver.ErrorInvalidValue)
	}
	l := Launch{Name: name, Grid: grid, Block: block, SharedMem: shmem, Stream: s, Args: append([]uint64(nil), args...)}
	f.Launches = append(f.Launches, l)
	k := f.Kernels[name]
	strict := f.Strict
	f.mu.Unlock()
	if k == nil && strict {
		return &Error{Op: "cuLaunchKernel", Code: driver.ErrorLaunchFailed, Name: "CUDA_ERROR_LAUNCH_FAILED",
			Message: "unspecified launch failure", Detail: name + ": the fake driver has no emulation for this kernel"}
	}
	if k != nil {
		if err := k(f, l); err != nil {
			return &Error{Op: "cuLaunchKernel", Code: driver.ErrorLaunchFailed, Name: "CUDA_ERROR_LAUNCH_FAILED", Message: "unspecified launch failure", Detail: name + ": " + err.Error()}
		}
	}
	return nil
}

// LiveAllocations returns the number of device allocations not yet freed.
func (f *Fake) LiveAllocations() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.allocs)
}
