package cuda

import (
	"runtime"
	"strings"
	"unsafe"

	"github.com/gguftool/gguftool/cuda/driver"
)

// realAPI implements API on the loaded libcuda.
type realAPI struct{ l *driver.Lib }

// check converts a CUresult into an *Error named after op, asking the
// driver for the name and description.
func (a realAPI) check(op string, r driver.Result) error {
	if r == driver.Success {
		return nil
	}
	n, m := a.l.ErrorName(r)
	return &Error{Op: op, Code: r, Name: n, Message: m}
}

func (a realAPI) Init() error { return a.check("cuInit", a.l.CuInit(0)) }

func (a realAPI) DriverVersion() (int, error) {
	var v int32
	err := a.check("cuDriverGetVersion", a.l.CuDriverGetVersion(&v))
	return int(v), err
}

func (a realAPI) DeviceCount() (int, error) {
	var n int32
	err := a.check("cuDeviceGetCount", a.l.CuDeviceGetCount(&n))
	return int(n), err
}

func (a realAPI) DeviceName(dev int) (string, error) {
	buf := make([]byte, 256)
	if err := a.check("cuDeviceGetName", a.l.CuDeviceGetName(&buf[0], int32(len(buf)), int32(dev))); err != nil {
		return "", err
	}
	return cString(buf), nil
}

func (a realAPI) DeviceTotalMem(dev int) (uint64, error) {
	var n uint64
	err := a.check("cuDeviceTotalMem", a.l.CuDeviceTotalMem(&n, int32(dev)))
	return n, err
}

func (a realAPI) DeviceAttribute(dev int, attr DeviceAttr) (int, error) {
	var v int32
	err := a.check("cuDeviceGetAttribute", a.l.CuDeviceGetAttribute(&v, int32(attr), int32(dev)))
	return int(v), err
}

func (a realAPI) DevicePCIBusID(dev int) (string, error) {
	if a.l.CuDeviceGetPCIBusId == nil {
		return "", nil
	}
	buf := make([]byte, 64)
	if err := a.check("cuDeviceGetPCIBusId", a.l.CuDeviceGetPCIBusId(&buf[0], int32(len(buf)), int32(dev))); err != nil {
		return "", err
	}
	return cString(buf), nil
}

func (a realAPI) PrimaryCtxRetain(dev int) (Ctx, error) {
	var c uintptr
	err := a.check("cuDevicePrimaryCtxRetain", a.l.CuDevicePrimaryCtxRetain(&c, int32(dev)))
	return Ctx(c), err
}

func (a realAPI) PrimaryCtxRelease(dev int) error {
	return a.check("cuDevicePrimaryCtxRelease", a.l.CuDevicePrimaryCtxRelease(int32(dev)))
}

func (a realAPI) CtxSetCurrent(c Ctx) error {
	return a.check("cuCtxSetCurrent", a.l.CuCtxSetCurrent(uintptr(c)))
}

func (a realAPI) CtxSynchronize() error { return a.check("cuCtxSynchronize", a.l.CuCtxSynchronize()) }

func (a realAPI) MemGetInfo() (free, total uint64, err error) {
	err = a.check("cuMemGetInfo", a.l.CuMemGetInfo(&free, &total))
	return
}

func (a realAPI) MemAlloc(n uint64) (DevicePtr, error) {
	var p uint64
	err := a.check("cuMemAlloc", a.l.CuMemAlloc(&p, n))
	return DevicePtr(p), err
}

func (a realAPI) MemFree(p DevicePtr) error { return a.check("cuMemFree", a.l.CuMemFree(uint64(p))) }

func (a realAPI) MemAllocHost(n uint64) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	err := a.check("cuMemAllocHost", a.l.CuMemAllocHost(&p, n))
	return p, err
}

func (a realAPI) MemFreeHost(p unsafe.Pointer) error {
	return a.check("cuMemFreeHost", a.l.CuMemFreeHost(p))
}

func (a realAPI) MemHostRegister(p unsafe.Pointer, n uint64, flags uint32) error {
	if a.l.CuMemHostRegister == nil {
		return &Error{Op: "cuMemHostRegister", Code: driver.ErrorNotFound, Name: "CUDA_ERROR_NOT_FOUND", Message: "driver lacks cuMemHostRegister"}
	}
	return a.check("cuMemHostRegister", a.l.CuMemHostRegister(p, n, flags))
}

func (a realAPI) MemHostUnregister(p unsafe.Pointer) error {
	if a.l.CuMemHostUnregister == nil {
		return nil
	}
	return a.check("cuMemHostUnregister", a.l.CuMemHostUnregister(p))
}

func (a realAPI) MemcpyHtoD(dst DevicePtr, src unsafe.Pointer, n uint64) error {
	return a.check("cuMemcpyHtoD", a.l.CuMemcpyHtoD(uint64(dst), src, n))
}

func (a realAPI) MemcpyDtoH(dst unsafe.Pointer, src DevicePtr, n uint64) error {
	return a.check("cuMemcpyDtoH", a.l.CuMemcpyDtoH(dst, uint64(src), n))
}

func (a realAPI) MemcpyDtoD(dst, src DevicePtr, n uint64) error {
	return a.check("cuMemcpyDtoD", a.l.CuMemcpyDtoD(uint64(dst), uint64(src), n))
}

func (a realAPI) MemcpyHtoDAsync(dst DevicePtr, src unsafe.Pointer, n uint64, s StreamID) error {
	return a.check("cuMemcpyHtoDAsync", a.l.CuMemcpyHtoDAsync(uint64(dst), src, n, uintptr(s)))
}

func (a realAPI) MemcpyDtoHAsync(dst unsafe.Pointer, src DevicePtr, n uint64, s StreamID) error {
	return a.check("cuMemcpyDtoHAsync", a.l.CuMemcpyDtoHAsync(dst, uint64(src), n, uintptr(s)))
}

func (a realAPI) MemcpyDtoDAsync(dst, src DevicePtr, n uint64, s StreamID) error {
	return a.check("cuMemcpyDtoDAsync", a.l.CuMemcpyDtoDAsync(uint64(dst), uint64(src), n, uintptr(s)))
}

func (a realAPI) MemsetD32Async(dst DevicePtr, v uint32, n uint64, s StreamID) error {
	return a.check("cuMemsetD32Async", a.l.CuMemsetD32Async(uint64(dst), v, n, uintptr(s)))
}

func (a realAPI) StreamCreate() (StreamID, error) {
	var s uintptr
	// CU_STREAM_NON_BLOCKING: do not serialize with the legacy default stream.
	err := a.check("cuStreamCreate", a.l.CuStreamCreate(&s, 1))
	return StreamID(s), err
}

func (a realAPI) StreamDestroy(s StreamID) error {
	return a.check("cuStreamDestroy", a.l.CuStreamDestroy(uintptr(s)))
}

func (a realAPI) StreamSynchronize(s StreamID) error {
	return a.check("cuStreamSynchronize", a.l.CuStreamSynchronize(uintptr(s)))
}

func (a realAPI) StreamWaitEvent(s StreamID, e EventID) error {
	return a.check("cuStreamWaitEvent", a.l.CuStreamWaitEvent(uintptr(s), uintptr(e), 0))
}

func (a realAPI) EventCreate(timing bool) (EventID, error) {
	var e uintptr
	flags := uint32(0)
	if !timing {
		flags = 2 // CU_EVENT_DISABLE_TIMING: cheaper for pure ordering
	}
	err := a.check("cuEventCreate", a.l.CuEventCreate(&e, flags))
	return EventID(e), err
}

func (a realAPI) EventDestroy(e EventID) error {
	return a.check("cuEventDestroy", a.l.CuEventDestroy(uintptr(e)))
}

func (a realAPI) EventRecord(e EventID, s StreamID) error {
	return a.check("cuEventRecord", a.l.CuEventRecord(uintptr(e), uintptr(s)))
}

func (a realAPI) EventSynchronize(e EventID) error {
	return a.check("cuEventSynchronize", a.l.CuEventSynchronize(uintptr(e)))
}

func (a realAPI) EventElapsedTime(start, end EventID) (float32, error) {
	var ms float32
	err := a.check("cuEventElapsedTime", a.l.CuEventElapsedTime(&ms, uintptr(start), uintptr(end)))
	return ms, err
}

// JIT options of cuModuleLoadDataEx (cuda.h CUjit_option).
const (
	jitErrorLogBuffer     = 5
	jitErrorLogBufferSize = 6
)

func (a realAPI) ModuleLoadData(image []byte) (ModuleID, error) {
	// The driver reads PTX as a C string.
	if len(image) == 0 || image[len(image)-1] != 0 {
		image = append(append([]byte(nil), image...), 0)
	}
	logBuf := make([]byte, 16<<10)
	opts := []int32{jitErrorLogBuffer, jitErrorLogBufferSize}
	// The driver writes the JIT log through the address in vals[0]: pin the
	// buffer so that address stays valid; vals[1] is a size passed as a pointer.
	var pin runtime.Pinner
	pin.Pin(&logBuf[0])
	vals := []uintptr{uintptr(unsafe.Pointer(&logBuf[0])), uintptr(len(logBuf))}
	defer pin.Unpin()
	var m uintptr
	r := a.l.CuModuleLoadDataEx(&m, unsafe.Pointer(&image[0]), uint32(len(opts)), &opts[0], &vals[0])
	if r != driver.Success {
		err := a.check("cuModuleLoadData", r).(*Error)
		err.Detail = strings.TrimSpace(cString(logBuf))
		return 0, err
	}
	return ModuleID(m), nil
}

func (a realAPI) ModuleUnload(m ModuleID) error {
	return a.check("cuModuleUnload", a.l.CuModuleUnload(uintptr(m)))
}

func (a realAPI) ModuleGetFunction(m ModuleID, name string) (FunctionID, error) {
	var f uintptr
	if err := a.check("cuModuleGetFunction", a.l.CuModuleGetFunction(&f, uintptr(m), name)); err != nil {
		err.(*Error).Detail = name
		return 0, err
	}
	return FunctionID(f), nil
}

func (a realAPI) LaunchKernel(f FunctionID, grid, block Dim3, shmem uint32, s StreamID, args []uint64) error {
	var params unsafe.Pointer
	var pin runtime.Pinner
	defer pin.Unpin()
	if len(args) > 0 {
		vals := append([]uint64(nil), args...)
		ptrs := make([]unsafe.Pointer, len(vals))
		for i := range vals {
			ptrs[i] = unsafe.Pointer(&vals[i])
		}
		pin.Pin(&vals[0])
		pin.Pin(&ptrs[0])
		params = unsafe.Pointer(&ptrs[0])
	}
	return a.check("cuLaunchKernel", a.l.CuLaunchKernel(uintptr(f), grid.X, grid.Y, grid.Z,
		block.X, block.Y, block.Z, shmem, uintptr(s), params, nil))
}

// cString returns the bytes of b up to the first NUL.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
