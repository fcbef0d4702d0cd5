// Package cuda is the idiomatic CUDA layer of gguftool: devices, the primary
// context, device and pinned host memory, streams, events, modules loaded from
// PTX and kernel launches.
//
// It talks to the GPU through the API interface. The real implementation
// (Open) loads libcuda.so.1 at run time through package cuda/driver, so the
// gguftool binary runs on machines without a GPU or driver and says why;
// NewFake gives an in-memory implementation for unit tests.
//
// cuda knows no models: it moves bytes and launches kernels. The kernels live
// in cuda/kernels and their typed launchers in cuda/ops.
package cuda

import "unsafe"

// DevicePtr is a device address (CUdeviceptr).
type DevicePtr uint64

// Handles of driver objects. Zero is "none" (for Stream: the legacy default
// stream).
type (
	Ctx        uintptr
	StreamID   uintptr
	EventID    uintptr
	ModuleID   uintptr
	FunctionID uintptr
)

// Dim3 is a grid or block shape.
type Dim3 struct{ X, Y, Z uint32 }

// DeviceAttr is a CUdevice_attribute.
type DeviceAttr int32

// Device attributes gguftool reads.
const (
	AttrMaxThreadsPerBlock      DeviceAttr = 1
	AttrMaxSharedMemoryPerBlock DeviceAttr = 8
	AttrMultiprocessorCount     DeviceAttr = 16
	AttrComputeCapabilityMajor  DeviceAttr = 75
	AttrComputeCapabilityMinor  DeviceAttr = 76
	AttrL2CacheSize             DeviceAttr = 38
	AttrMemoryBusWidth          DeviceAttr = 37
)

// API is the set of driver calls the idiomatic layer uses. Calls that take
// no context act on the calling OS thread's current context; Context makes
// sure that is the right one.
type API interface {
	Init() error
	DriverVersion() (int, error)
	DeviceCount() (int, error)
	DeviceName(dev int) (string, error)
	DeviceTotalMem(dev int) (uint64, error)
	DeviceAttribute(dev int, attr DeviceAttr) (int, error)
	DevicePCIBusID(dev int) (string, error)

	PrimaryCtxRetain(dev int) (Ctx, error)
	PrimaryCtxRelease(dev int) error
	CtxSetCurrent(c Ctx) error
	CtxSynchronize() error
	CtxSetLimit(l Limit, v uint64) error
	CtxGetLimit(l Limit) (uint64, error)

	MemGetInfo() (free, total uint64, err error)
	MemAlloc(bytes uint64) (DevicePtr, error)
	MemFree(p DevicePtr) error
	MemAllocHost(bytes uint64) (unsafe.Pointer, error)
	MemFreeHost(p unsafe.Pointer) error
	MemHostRegister(p unsafe.Pointer, bytes uint64, flags uint32) error
	MemHostUnregister(p unsafe.Pointer) error

	MemcpyHtoD(dst DevicePtr, src unsafe.Pointer, bytes uint64) error
	MemcpyDtoH(dst unsafe.Pointer, src DevicePtr, bytes uint64) error
	MemcpyDtoD(dst, src DevicePtr, bytes uint64) error
	MemcpyHtoDAsync(dst DevicePtr, src unsafe.Pointer, bytes uint64, s StreamID) error
	MemcpyDtoHAsync(dst unsafe.Pointer, src DevicePtr, bytes uint64, s StreamID) error
	MemcpyDtoDAsync(dst, src DevicePtr, bytes uint64, s StreamID) error
	MemsetD32Async(dst DevicePtr, v uint32, n uint64, s StreamID) error

	StreamCreate() (StreamID, error)
	StreamDestroy(s StreamID) error
	StreamSynchronize(s StreamID) error
	StreamWaitEvent(s StreamID, e EventID) error

	EventCreate(timing bool) (EventID, error)
	EventDestroy(e EventID) error
	EventRecord(e EventID, s StreamID) error
	EventSynchronize(e EventID) error
	EventElapsedTime(start, end EventID) (float32, error)

	ModuleLoadData(image []byte) (ModuleID, error)
	ModuleUnload(m ModuleID) error
	ModuleGetFunction(m ModuleID, name string) (FunctionID, error)
	// LaunchKernel starts f. Each argument is one 8-byte slot holding the
	// value little-endian; the kernel reads as many bytes as its parameter
	// type has (4 for int/float, 8 for pointers).
	LaunchKernel(f FunctionID, grid, block Dim3, sharedMem uint32, s StreamID, args []uint64) error
}
