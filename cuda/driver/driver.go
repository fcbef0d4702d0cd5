// Package driver is the raw CUDA driver API table: the functions of
// libcuda.so.1, resolved at run time with purego (no cgo, no CUDA toolkit at
// build time). Each field has the C signature of the driver function it holds,
// written with Go types; callers get a Result back and must check it.
//
// The idiomatic layer is package cuda; use this package directly only to
// reach a driver function that cuda does not wrap.
package driver

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/ebitengine/purego"
)

// Result is a CUresult. Zero is CUDA_SUCCESS.
type Result uint32

// Library names tried in order. libcuda.so.1 is what the NVIDIA driver
// installs; libcuda.so is only present with the development symlink.
var libraryNames = []string{"libcuda.so.1", "libcuda.so"}

// ErrNotFound reports that no NVIDIA driver library could be opened.
var ErrNotFound = errors.New("libcuda.so.1 not found")

// Lib holds the resolved driver functions. A nil field means the loaded
// driver lacks that (optional) symbol.
type Lib struct {
	Path string // the library name that was opened

	CuInit             func(flags uint32) Result
	CuDriverGetVersion func(version *int32) Result
	CuGetErrorName     func(r Result, name *uintptr) Result
	CuGetErrorString   func(r Result, msg *uintptr) Result

	CuDeviceGetCount     func(count *int32) Result
	CuDeviceGet          func(dev *int32, ordinal int32) Result
	CuDeviceGetName      func(name *byte, length int32, dev int32) Result
	CuDeviceTotalMem     func(bytes *uint64, dev int32) Result
	CuDeviceGetAttribute func(v *int32, attr int32, dev int32) Result
	CuDeviceGetPCIBusId  func(id *byte, length int32, dev int32) Result

	CuDevicePrimaryCtxRetain  func(ctx *uintptr, dev int32) Result
	CuDevicePrimaryCtxRelease func(dev int32) Result
	CuCtxSetCurrent           func(ctx uintptr) Result
	CuCtxSynchronize          func() Result
	CuCtxSetLimit             func(limit int32, value uint64) Result
	CuCtxGetLimit             func(value *uint64, limit int32) Result

	CuMemGetInfo        func(free, total *uint64) Result
	CuMemAlloc          func(ptr *uint64, bytes uint64) Result
	CuMemFree           func(ptr uint64) Result
	CuMemAllocHost      func(p *unsafe.Pointer, bytes uint64) Result
	CuMemFreeHost       func(p unsafe.Pointer) Result
	CuMemHostRegister   func(p unsafe.Pointer, bytes uint64, flags uint32) Result
	CuMemHostUnregister func(p unsafe.Pointer) Result
	CuMemcpyHtoD        func(dst uint64, src unsafe.Pointer, bytes uint64) Result
	CuMemcpyDtoH        func(dst unsafe.Pointer, src uint64, bytes uint64) Result
	CuMemcpyDtoD        func(dst, src uint64, bytes uint64) Result
	CuMemcpyHtoDAsync   func(dst uint64, src unsafe.Pointer, bytes uint64, stream uintptr) Result
	CuMemcpyDtoHAsync   func(dst unsafe.Pointer, src uint64, bytes uint64, stream uintptr) Result
	CuMemcpyDtoDAsync   func(dst, src uint64, bytes uint64, stream uintptr) Result
	CuMemsetD32         func(dst uint64, v uint32, n uint64) Result
	CuMemsetD32Async    func(dst uint64, v uint32, n uint64, stream uintptr) Result

	CuStreamCreate      func(s *uintptr, flags uint32) Result
	CuStreamDestroy     func(s uintptr) Result
	CuStreamSynchronize func(s uintptr) Result
	CuStreamWaitEvent   func(s, e uintptr, flags uint32) Result

	CuEventCreate      func(e *uintptr, flags uint32) Result
	CuEventDestroy     func(e uintptr) Result
	CuEventRecord      func(e, s uintptr) Result
	CuEventSynchronize func(e uintptr) Result
	CuEventElapsedTime func(ms *float32, start, end uintptr) Result

	CuModuleLoadDataEx  func(mod *uintptr, image unsafe.Pointer, n uint32, opts *int32, vals *uintptr) Result
	CuModuleUnload      func(mod uintptr) Result
	CuModuleGetFunction func(fn *uintptr, mod uintptr, name string) Result
	CuFuncSetAttribute  func(fn uintptr, attr int32, v int32) Result
	CuLaunchKernel      func(fn uintptr, gx, gy, gz, bx, by, bz, shmem uint32, stream uintptr, params unsafe.Pointer, extra unsafe.Pointer) Result
}

// symbol binds one field to the first name the library exports. Versioned
// names (_v2) come first: the unversioned ones keep the CUDA 3.x ABI.
type symbol struct {
	fptr     any
	names    []string
	optional bool
}

// Load opens libcuda and resolves every function. Without a driver the
// error wraps ErrNotFound and carries the loader's message.
func Load() (*Lib, error) {
	var (
		handle uintptr
		path   string
		errs   []string
	)
	for _, name := range libraryNames {
		h, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err == nil {
			handle, path = h, name
			break
		}
		errs = append(errs, err.Error())
	}
	if handle == 0 {
		return nil, fmt.Errorf("%w (%s)", ErrNotFound, errs[0])
	}
	l := &Lib{Path: path}
	for _, s := range l.symbols() {
		var addr uintptr
		for _, n := range s.names {
			if a, err := purego.Dlsym(handle, n); err == nil && a != 0 {
				addr = a
				break
			}
		}
		if addr == 0 {
			if s.optional {
				continue
			}
			return nil, fmt.Errorf("NVIDIA driver %s lacks %s: driver too old", path, s.names[0])
		}
		purego.RegisterFunc(s.fptr, addr)
	}
	return l, nil
}

func (l *Lib) symbols() []symbol {
	req := func(f any, names ...string) symbol { return symbol{fptr: f, names: names} }
	opt := func(f any, names ...string) symbol { return symbol{fptr: f, names: names, optional: true} }
	return []symbol{
		req(&l.CuInit, "cuInit"),
		req(&l.CuDriverGetVersion, "cuDriverGetVersion"),
		req(&l.CuGetErrorName, "cuGetErrorName"),
		req(&l.CuGetErrorString, "cuGetErrorString"),
		req(&l.CuDeviceGetCount, "cuDeviceGetCount"),
		req(&l.CuDeviceGet, "cuDeviceGet"),
		req(&l.CuDeviceGetName, "cuDeviceGetName"),
		req(&l.CuDeviceTotalMem, "cuDeviceTotalMem_v2"),
		req(&l.CuDeviceGetAttribute, "cuDeviceGetAttribute"),
		opt(&l.CuDeviceGetPCIBusId, "cuDeviceGetPCIBusId"),
		req(&l.CuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"),
		req(&l.CuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"),
		req(&l.CuCtxSetCurrent, "cuCtxSetCurrent"),
		req(&l.CuCtxSynchronize, "cuCtxSynchronize"),
		opt(&l.CuCtxSetLimit, "cuCtxSetLimit"),
		opt(&l.CuCtxGetLimit, "cuCtxGetLimit"),
		req(&l.CuMemGetInfo, "cuMemGetInfo_v2"),
		req(&l.CuMemAlloc, "cuMemAlloc_v2"),
		req(&l.CuMemFree, "cuMemFree_v2"),
		req(&l.CuMemAllocHost, "cuMemAllocHost_v2"),
		req(&l.CuMemFreeHost, "cuMemFreeHost"),
		opt(&l.CuMemHostRegister, "cuMemHostRegister_v2", "cuMemHostRegister"),
		opt(&l.CuMemHostUnregister, "cuMemHostUnregister"),
		req(&l.CuMemcpyHtoD, "cuMemcpyHtoD_v2"),
		req(&l.CuMemcpyDtoH, "cuMemcpyDtoH_v2"),
		req(&l.CuMemcpyDtoD, "cuMemcpyDtoD_v2"),
		req(&l.CuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"),
		req(&l.CuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"),
		req(&l.CuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2"),
		req(&l.CuMemsetD32, "cuMemsetD32_v2"),
		req(&l.CuMemsetD32Async, "cuMemsetD32Async"),
		req(&l.CuStreamCreate, "cuStreamCreate"),
		req(&l.CuStreamDestroy, "cuStreamDestroy_v2", "cuStreamDestroy"),
		req(&l.CuStreamSynchronize, "cuStreamSynchronize"),
		req(&l.CuStreamWaitEvent, "cuStreamWaitEvent"),
		req(&l.CuEventCreate, "cuEventCreate"),
		req(&l.CuEventDestroy, "cuEventDestroy_v2", "cuEventDestroy"),
		req(&l.CuEventRecord, "cuEventRecord"),
		req(&l.CuEventSynchronize, "cuEventSynchronize"),
		req(&l.CuEventElapsedTime, "cuEventElapsedTime_v2", "cuEventElapsedTime"),
		req(&l.CuModuleLoadDataEx, "cuModuleLoadDataEx"),
		req(&l.CuModuleUnload, "cuModuleUnload"),
		req(&l.CuModuleGetFunction, "cuModuleGetFunction"),
		opt(&l.CuFuncSetAttribute, "cuFuncSetAttribute"),
		req(&l.CuLaunchKernel, "cuLaunchKernel"),
	}
}

// ErrorName returns the driver's name for r (e.g. CUDA_ERROR_OUT_OF_MEMORY)
// and its description; it falls back to the built-in table.
func (l *Lib) ErrorName(r Result) (name, msg string) {
	var p uintptr
	if l != nil && l.CuGetErrorName(r, &p) == 0 && p != 0 {
		name = goString(p)
	}
	p = 0
	if l != nil && l.CuGetErrorString(r, &p) == 0 && p != 0 {
		msg = goString(p)
	}
	if name == "" || msg == "" {
		n, m := KnownResult(r)
		if name == "" {
			name = n
		}
		if msg == "" {
			msg = m
		}
	}
	return name, msg
}

// goString copies a NUL-terminated C string owned by the driver.
func goString(p uintptr) string {
	var b []byte
	for i := uintptr(0); i < 4096; i++ {
		c := *(*byte)(unsafe.Add(unsafe.Pointer(nil), p+i)) //nolint:govet // driver-owned static string
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}
